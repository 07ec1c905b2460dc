/**
 * A content hash of a plugin's directory: every file's relative path and sha256, and every
 * symlink's target, in sorted order (node_modules included: it is code that runs too). The
 * kernel records it when a third-party plugin is enabled trusted and checks it before running
 * the plugin in-process again, so files changed since then never run with the host's rights.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';

/** Hex sha256 over the tree; changed, added or removed files change it. */
export async function treeHash(dir: string): Promise<string> {
  const lines: string[] = [];
  const walk = async (d: string, rel: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true });
    for (const e of entries) {
      const path = join(d, e.name);
      const name = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(path, name);
      else if (e.isSymbolicLink()) lines.push(`${name} -> ${await readlink(path)}`);
      else if (e.isFile())
        lines.push(
          `${name} ${createHash('sha256')
            .update(await readFile(path))
            .digest('hex')}`,
        );
    }
  };
  await walk(dir, '');
  return createHash('sha256').update(lines.sort().join('\n')).digest('hex');
}
