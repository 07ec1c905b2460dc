/**
 * Bundles a plugin's TypeScript/JavaScript source into the single self-contained ES module the
 * sandbox runs (`cx-ops/sdk/bundle`). Node built-ins cannot be imported: a sandboxed plugin
 * reaches the system only through ctx.
 */
import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Message } from 'esbuild';
import { CxError, messageOf } from './errors.js';

function sdkEntry(): string {
  const js = fileURLToPath(new URL('./index.js', import.meta.url));
  return existsSync(js) ? js : fileURLToPath(new URL('./index.ts', import.meta.url));
}

const NODE_MODULES = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

function describe(m: Message): string {
  const where = m.location ? `${resolve(m.location.file)}:${m.location.line}:${m.location.column}: ` : '';
  const text = m.text.replace(/^Could not resolve "([^"]+)"/, (all, spec: string) =>
    NODE_MODULES.has(spec) || spec.startsWith('node:')
      ? `cannot import "${spec}": sandboxed plugins have no Node API; use ctx.fs / ctx.exec / ctx.net`
      : all,
  );
  return `${where}${text}`;
}

/**
 * Bundles `entry` and returns the code of one ES module with no imports left. A source that
 * does not bundle is a CxError CX_ERR_PLUGIN_BUILD listing each problem as file:line:column.
 */
export async function bundlePlugin(entry: string): Promise<string> {
  try {
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'neutral',
      target: 'es2022',
      mainFields: ['module', 'main'],
      alias: { 'cx-ops/sdk': sdkEntry() },
      logLevel: 'silent',
      legalComments: 'none',
    });
    return result.outputFiles[0]!.text;
  } catch (e) {
    // esbuild's failure carries its messages in `errors`.
    const errors: Message[] = (e as { errors?: Message[] } | null)?.errors ?? [];
    throw new CxError('CX_ERR_PLUGIN_BUILD', { entry, detail: errors.map(describe).join('\n') || messageOf(e) });
  }
}

/** Bundles `entry` into `outFile` atomically. */
export async function bundlePluginFile(entry: string, outFile: string): Promise<void> {
  const code = await bundlePlugin(entry);
  await mkdir(dirname(outFile), { recursive: true });
  const tmp = `${outFile}.${process.pid}.tmp`;
  await writeFile(tmp, code);
  await rename(tmp, outFile);
}
