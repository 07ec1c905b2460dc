/**
 * A manifest FILE as the commands read it: the path as the user typed it, parsed, schema-checked
 * and validated; any problem (all of them at once) is CX_ERR_DEPLOY_MANIFEST_INVALID.
 */
import { CxError, type PluginContext } from 'cx-ops/sdk';
import { formatProblems, readManifest, type ManifestProblem, type ManifestSource } from './read-manifest.js';
import { validateServiceManifest } from './validate-manifest.js';

/** The error for a list of problems (also what `deploy validate --json` prints). */
export function manifestError(plugin: string, file: string, problems: ManifestProblem[]): CxError {
  return new CxError('CX_ERR_DEPLOY_MANIFEST_INVALID', { plugin, file, problems, text: formatProblems(problems) });
}

/** FILE could not be read: the reason without the path again (the message starts with it). */
export function unreadable(plugin: string, file: string, e: unknown): CxError {
  const reason = (e as Error).message.replace(`${file}: `, '');
  return new CxError('CX_ERR_IO', {
    plugin,
    path: file,
    detail: `cannot read the manifest: ${reason}. Check the path (it is read relative to the working directory, not under --root).`,
  });
}

/** Reads and validates FILE; `drivers` are the driver ids the registry knows. */
export async function loadManifest(
  ctx: PluginContext<unknown>,
  file: string,
  drivers?: readonly string[],
): Promise<ManifestSource> {
  let text: string;
  try {
    text = await ctx.localFs.readFile(file);
  } catch (e) {
    throw unreadable(ctx.plugin, file, e);
  }
  const r = readManifest(text, file);
  if (!r.ok) throw manifestError(ctx.plugin, file, r.problems);
  const problems = validateServiceManifest(r.source, drivers ? { drivers } : {});
  if (problems.length) throw manifestError(ctx.plugin, file, problems);
  return r.source;
}

/** Driver ids contributed to the `deploy-driver` kind. */
export async function knownDrivers(ctx: PluginContext<unknown>): Promise<string[]> {
  return (await ctx.registry.list('deploy-driver')).map((d) => d.id);
}
