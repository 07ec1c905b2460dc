/** Reads the host's package source URIs under the inspected root. */
import { readIfExists, type PluginContext } from 'cx-ops/sdk';
import { parseDeb822Sources, parseOneLineSources } from './host-config.js';

export async function packageSourceUris(ctx: PluginContext<unknown>): Promise<string[]> {
  const uris: string[] = [];
  const main = await readIfExists(ctx.fs, '/etc/apt/sources.list');
  if (main) uris.push(...parseOneLineSources(main));
  const dir = '/etc/apt/sources.list.d';
  if (await ctx.fs.stat(dir)) {
    for (const e of (await ctx.fs.readDir(dir)).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.type !== 'file' && e.type !== 'symlink') continue;
      if (e.name.endsWith('.list')) uris.push(...parseOneLineSources(await ctx.fs.readFile(`${dir}/${e.name}`)));
      else if (e.name.endsWith('.sources')) uris.push(...parseDeb822Sources(await ctx.fs.readFile(`${dir}/${e.name}`)));
    }
  }
  return uris;
}
