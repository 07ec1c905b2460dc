/**
 * Renders docs/errors.md from every error catalogue: the kernel's (sdk/errors.ts) and each
 * built-in plugin's own (defineErrors, given to definePlugin's `errors`). A test keeps the file
 * and the catalogues in sync; regenerate with `node core/bin/gen-error-docs.js`.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ERRORS, errorSpecsOf, type ErrorSpec } from './errors.js';

/** One plugin's catalogue. */
export interface PluginCatalogue {
  plugin: string;
  specs: Record<string, ErrorSpec<any>>;
}

/** The catalogues of the compiled built-in plugins in `dir` (dist/plugins-builtin), by name. */
export async function builtinCatalogues(dir: string): Promise<PluginCatalogue[]> {
  const out: PluginCatalogue[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const manifest = await readFile(join(dir, name, 'plugin.yaml'), 'utf8').catch(() => undefined);
    const main = manifest && /^main:\s*(\S+)/m.exec(manifest)?.[1];
    if (!main) continue;
    const mod = (await import(pathToFileURL(join(dir, name, main)).href)) as { default?: { errors?: unknown } };
    const specs = errorSpecsOf(mod.default?.errors);
    if (Object.keys(specs).length) out.push({ plugin: name, specs });
  }
  return out;
}

const rows = (specs: Record<string, ErrorSpec<any>>): string[] =>
  Object.entries(specs).map(
    ([code, spec]) => `| <a id="${code.toLowerCase()}"></a>\`${code}\` | ${spec.exit} | ${spec.summary} |`,
  );

export function renderErrorDocs(plugins: PluginCatalogue[]): string {
  const head = ['| code | exit | meaning |', '|---|---|---|'];
  return [
    '# cx-ops error codes',
    '',
    "Generated from the kernel catalogue (`sdk/errors.ts`) and the built-in plugins' `defineErrors` catalogues by",
    '`node core/bin/gen-error-docs.js`; do not edit by hand.',
    'Every error prints as `error[CODE]: message`, where the message says what is wrong, where, and what to do next',
    '(`Try: …` names the command to run). Under `--json` it prints instead as one JSON object on stdout:',
    '`{ "error": { "code", "message", "exit", "plugin", "hook", "contribution", "hint", "suggestions", "docs" } }`.',
    '',
    '## Kernel',
    '',
    ...head,
    ...rows(ERRORS),
    ...plugins.flatMap((p) => ['', `## Plugin \`${p.plugin}\``, '', ...head, ...rows(p.specs)]),
    '',
  ].join('\n');
}
