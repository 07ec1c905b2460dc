/**
 * The kernel's atomic write (core/atomic.ts): the temp file a killed write left beside a file is
 * removed by the next write of that file, only when its process is gone.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { writeFileAtomic } from '../../core/atomic.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cx-atomic-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

test('a dead writer’s temp file of state.json is swept by the next write; a live one’s and other names stay', async () => {
  const dead = spawnSync('true').pid!;
  const kept = [
    `.state.json.cx-${process.ppid}-0a1b2c3d.tmp`,
    `.manifests.json.cx-${dead}-0a1b2c3d.tmp`,
    'state.json.bak',
  ];
  for (const name of [...kept, `.state.json.cx-${dead}-deadbeef.tmp`]) await writeFile(join(dir, name), 'half');
  await writeFileAtomic(join(dir, 'state.json'), '{"version":1,"plugins":{}}\n');
  expect((await readdir(dir)).sort()).toEqual([...kept, 'state.json'].sort());
  expect(await readFile(join(dir, 'state.json'), 'utf8')).toBe('{"version":1,"plugins":{}}\n');
});
