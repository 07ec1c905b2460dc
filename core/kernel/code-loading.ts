/**
 * Loading a plugin's code: trusted plugins are imported in-process (a third-party one only if
 * its files are as they were when it was trusted), sandboxed ones are evaluated in isolated-vm;
 * then activated. Also the shape (what it contributes) read from loaded code.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PluginContext, PluginDefinition } from '../../sdk/types.js';
import { CxError, errorSpecsOf, messageOf } from '../errors.js';
import { parseShape, type PluginShape } from '../sandbox/shape.js';
import { treeHash } from '../loader/tree-hash.js';
import type { SandboxHost } from '../sandbox/host.js';
import type { DryRunRecorder } from '../capabilities/index.js';
import type { PluginRecord } from './plugin-record.js';

/** What loading needs from the kernel. */
export interface LoadingHost {
  /** The tree hash recorded when a third-party plugin was enabled trusted. */
  trustedTree(plugin: string): string | undefined;
  sandbox(): Promise<SandboxHost>;
  sandboxDefaults: { memory_mb: number; call_timeout_ms: number };
  context(p: PluginRecord, o?: { dryRun: boolean; recorder?: DryRunRecorder }): PluginContext;
}

/** Loads a plugin's code (either tier); sets `definition` or `sandboxed`. */
export async function loadCode(host: LoadingHost, p: PluginRecord): Promise<void> {
  const main = join(p.dir, p.manifest.main);
  try {
    await stat(main);
  } catch {
    throw new CxError('CX_ERR_MAIN_MISSING', {
      plugin: p.name,
      main: p.manifest.main,
      path: main,
      manifest: p.manifestFile,
    });
  }
  if (p.tier === 'trusted') {
    p.definition = await importTrusted(host, p, main);
    return;
  }
  const sandbox = await host.sandbox();
  const code = await readFile(main, 'utf8');
  const limits = {
    memoryMb: p.manifest.limits?.memory_mb ?? host.sandboxDefaults.memory_mb,
    callTimeoutMs: p.manifest.limits?.call_timeout_ms ?? host.sandboxDefaults.call_timeout_ms,
  };
  p.sandboxed = await sandbox.load({ name: p.name, code, filename: main, limits });
  if (p.sandboxed.shape.name !== p.name)
    throw new CxError('CX_ERR_PLUGIN_NAME_MISMATCH', { plugin: p.name, declared: p.sandboxed.shape.name });
}

async function importTrusted(host: LoadingHost, p: PluginRecord, main: string): Promise<PluginDefinition> {
  const recorded = p.builtin ? undefined : host.trustedTree(p.name);
  if (recorded !== undefined && recorded !== (await treeHash(p.dir)))
    throw new CxError('CX_ERR_PLUGIN_CHANGED', { plugin: p.name, dir: p.dir });
  let mod: { default?: unknown };
  try {
    // The stamp in the URL makes a long-lived process import a changed plugin afresh.
    const url = pathToFileURL(main);
    if (p.stamp) url.searchParams.set('v', p.stamp.split('|')[0]!);
    mod = await import(url.href);
  } catch (e) {
    throw new CxError(
      'CX_ERR_MAIN_INVALID',
      { plugin: p.name, main: p.manifest.main, detail: `failed to load: ${messageOf(e)}` },
      { cause: e },
    );
  }
  const def = mod.default as PluginDefinition | undefined;
  if (!def || typeof def !== 'object')
    throw new CxError('CX_ERR_MAIN_INVALID', {
      plugin: p.name,
      main: p.manifest.main,
      detail: 'has no default export',
    });
  if (def.name !== p.name) throw new CxError('CX_ERR_PLUGIN_NAME_MISMATCH', { plugin: p.name, declared: def.name });
  return def;
}

/** Runs activate(); a trusted plugin's own coded error keeps its code, anything else is CX_ERR_ACTIVATE_FAILED. */
export async function activate(host: LoadingHost, p: PluginRecord): Promise<void> {
  const ctx = host.context(p);
  try {
    if (p.definition?.activate) await p.definition.activate(ctx);
    else if (p.sandboxed?.shape.hasActivate) await p.sandboxed.call({ type: 'activate' }, null, ctx);
  } catch (e) {
    if (e instanceof CxError && p.tier === 'trusted') throw e.attribute({ plugin: p.name });
    throw new CxError('CX_ERR_ACTIVATE_FAILED', { plugin: p.name, detail: messageOf(e) }, { cause: e });
  }
}

/** Runs deactivate() of a plugin whose code was loaded. */
export async function deactivate(host: LoadingHost, p: PluginRecord): Promise<void> {
  const ctx = host.context(p);
  if (p.definition?.deactivate) await p.definition.deactivate(ctx);
  else if (p.sandboxed?.shape.hasDeactivate) await p.sandboxed.call({ type: 'deactivate' }, null, ctx);
}

/**
 * What a loaded plugin contributes, taps and declares (plain data, cached between runs). A
 * trusted plugin's is taken from its definition as JSON (what the cache keeps) and checked
 * against the same schema as a sandboxed plugin's.
 */
export function shapeOf(p: PluginRecord): PluginShape {
  if (p.sandboxed) return p.sandboxed.shape;
  const d = p.definition!;
  // Anything that is not a list of objects is left as it is, for the schema to report.
  const list = <T>(v: T[] | undefined, f: (x: T, i: number) => unknown): unknown =>
    v === undefined ? [] : Array.isArray(v) ? v.map((x, i) => (x && typeof x === 'object' ? f(x, i) : x)) : v;
  const raw = {
    name: d.name,
    contributes: list(d.contributes, (c) => ({
      kind: c.kind,
      id: c.id,
      meta: c.meta,
      ...(c.configField ? { configField: c.configField } : {}),
    })),
    taps: list(d.taps, (t, index) => ({ hook: t.hook, priority: t.priority, index })),
    kinds: d.kinds ?? [],
    hooks: d.hooks ?? [],
    hasActivate: Boolean(d.activate),
    hasDeactivate: Boolean(d.deactivate),
    errors: Object.entries(errorSpecsOf(d.errors)).map(([code, spec]) => ({
      code,
      exit: spec.exit,
      summary: spec.summary,
    })),
  };
  let text: string;
  try {
    text = JSON.stringify(raw);
  } catch (e) {
    throw new CxError(
      'CX_ERR_MAIN_INVALID',
      { plugin: p.name, main: p.manifest.main, detail: `its definition is not plain data (${messageOf(e)})` },
      { cause: e },
    );
  }
  const shape = parseShape(text);
  if (typeof shape === 'string')
    throw new CxError('CX_ERR_MAIN_INVALID', { plugin: p.name, main: p.manifest.main, detail: shape });
  return shape;
}
