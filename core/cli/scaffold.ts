/**
 * `cx-ops plugins create`: a plugin directory that builds, and passes its own test under the
 * real sandbox, out of the box. `cx-ops plugins build`: bundles src/index.ts into `main`.
 */
import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { CxError } from '../errors.js';
import { writeFileAtomic } from '../atomic.js';
import { readManifest } from '../loader/manifest.js';
import { PLUGIN_NAME_PATTERN } from '../../sdk/index.js';

/** The types `plugins create` scaffolds (`task`: kind automation-task, which the built-in automation plugin declares). */
export const SCAFFOLD_TYPES = ['check', 'command', 'fix', 'task'] as const;

const snake = (name: string) => name.replace(/-/g, '_');
/** plugin.schema.json's maxLength of 'name': longer would not load, and may not even fit a file name. */
const MAX_PLUGIN_NAME = 64;

/** The scaffold templates: shared/ plus one directory per type (see templates/README.md). */
const TEMPLATES = fileURLToPath(new URL('./templates/', import.meta.url));

/** Every file under `dir`, as paths relative to it. */
async function filesUnder(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await filesUnder(dir, rel)));
    else out.push(rel);
  }
  return out;
}

/**
 * The root of this cx-ops installation (the directory of its package.json), found from this
 * file's own location, whether it runs from dist/ or from the sources. No cx-ops package is
 * published on npm, so a scaffold depends on the installation that created it (`file:`).
 */
export function cxOpsPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      if (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name === 'cx-ops') return dir;
    } catch {
      /* not here: look one level up */
    }
    const up = dirname(dir);
    if (up === dir)
      throw new CxError('CX_ERR_IO', {
        path: fileURLToPath(import.meta.url),
        detail: 'no package.json of cx-ops above this file; reinstall cx-ops',
      });
    dir = up;
  }
}

/** Writes a new plugin directory `parent/name`; refuses to overwrite an existing one. */
export async function createPluginScaffold(
  name: string,
  type: string,
  parent: string,
  kernelVersion: string,
): Promise<string> {
  if (!PLUGIN_NAME_PATTERN.test(name) || name.length > MAX_PLUGIN_NAME) {
    throw new CxError('CX_ERR_USAGE', {
      detail:
        name.length > MAX_PLUGIN_NAME
          ? `a plugin name has at most ${MAX_PLUGIN_NAME} characters (plugin.yaml's 'name'); this one has ${name.length}.`
          : `'${name}' is not a valid plugin name: use lower-case words joined by '-'.`,
      hint: 'cx-ops plugins create disk-guard --type check',
    });
  }
  if (!(SCAFFOLD_TYPES as readonly string[]).includes(type)) {
    throw new CxError('CX_ERR_USAGE', {
      detail: `unknown plugin type '${type}'; choose one of: ${SCAFFOLD_TYPES.join(', ')}.`,
    });
  }
  const dir = resolve(parent, name);
  if (
    await stat(dir).then(
      () => true,
      () => false,
    )
  ) {
    throw new CxError('CX_ERR_USAGE', {
      detail: `${dir} already exists; nothing was written.`,
      hint: 'choose another name or --dir',
    });
  }
  const major = Number(kernelVersion.split('.')[0]);
  const words: Array<[RegExp, string]> = [
    [/template-plugin/g, name],
    [/template_plugin/g, snake(name)],
    [/KERNEL_VERSION/g, kernelVersion],
    [/NEXT_MAJOR/g, `${major + 1}.0.0`],
    [/CX_OPS_ROOT/g, cxOpsPackageRoot()],
    [/PLUGIN_TYPE/g, type],
  ];
  const files = new Map<string, string>();
  for (const from of ['shared', type]) {
    for (const rel of await filesUnder(join(TEMPLATES, from))) files.set(rel, join(TEMPLATES, from, rel));
  }
  for (const [rel, source] of files) {
    const text = words.reduce((t, [word, value]) => t.replace(word, value), await readFile(source, 'utf8'));
    const f = join(dir, rel);
    await mkdir(dirname(f), { recursive: true });
    await writeFile(f, text, { flag: 'wx' });
  }
  return dir;
}

/**
 * Bundles dir/src/index.ts (or src/index.js / index.ts) into the manifest's main file. The
 * bundle is evaluated in a sandbox isolate first: a plugin whose code names itself differently
 * from plugin.yaml is refused (CX_ERR_PLUGIN_NAME_MISMATCH) and main is left as it was.
 */
export async function buildPluginDir(dirArg: string): Promise<string> {
  const dir = resolve(dirArg);
  const { manifest } = await readManifest(dir);
  const candidates = ['src/index.ts', 'src/index.js', 'index.ts'];
  let entry: string | undefined;
  for (const c of candidates)
    if (
      !entry &&
      (await stat(join(dir, c)).then(
        () => true,
        () => false,
      ))
    )
      entry = join(dir, c);
  if (!entry)
    throw new CxError('CX_ERR_USAGE', {
      detail: `${dir}: no src/index.ts to bundle.`,
      hint: 'put the plugin source in src/index.ts',
    });
  const { bundlePlugin } = await import('../../sdk/bundle.js');
  const code = await bundlePlugin(entry);
  const out = join(dir, manifest.main);
  const declared = await declaredName(manifest.name, code, out);
  if (declared !== manifest.name)
    throw new CxError('CX_ERR_PLUGIN_NAME_MISMATCH', { plugin: manifest.name, declared, file: entry });
  await writeFileAtomic(out, code);
  return out;
}

/** The name a bundle's definePlugin({ name }) declares, read by loading it in a sandbox isolate. */
async function declaredName(plugin: string, code: string, filename: string): Promise<string> {
  const { SandboxHost } = await import('../sandbox/host.js');
  const host = new SandboxHost();
  try {
    return (await host.load({ name: plugin, code, filename })).shape.name;
  } finally {
    await host.close();
  }
}
