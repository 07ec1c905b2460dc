import { mkdirSync, readdirSync, readlinkSync, renameSync, symlinkSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../../core/capabilities/audit.js';
import { createHostCapabilities } from '../../../core/capabilities/index.js';
import { mergeGrants, parseGrant } from '../../../core/permissions/grants.js';
import { rejection } from '../../helpers/rejection.js';

let dir: string;
let granted: string;
let secret: string;

function caps(grants: string[]) {
  return createHostCapabilities({
    plugin: 'dirs-test',
    tier: 'sandboxed',
    grants: mergeGrants(grants.map(parseGrant)),
    dryRun: false,
    audit: AuditLog.memory(),
  });
}

/** Descriptors of this process that lead into `under`. */
function openUnder(under: string): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const at = readlinkSync(`/proc/self/fd/${fd}`);
      if (at === under || at.startsWith(`${under}/`)) out.push(at);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

const nextTurn = () => new Promise((r) => setImmediate(r));

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cx-dirs-'));
  granted = join(dir, 'granted');
  secret = join(dir, 'secret');
  await mkdir(join(granted, 'sub'), { recursive: true });
  await mkdir(secret);
  await writeFile(join(granted, 'sub', 'f'), 'inside');
  await writeFile(join(secret, 'f'), 'SECRET');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('directories held open for a burst of calls (DirCache)', () => {
  it('a held directory replaced by a symlink between two calls is not followed', async () => {
    const { fs } = caps([`read:${granted}`, `write:${granted}`]);
    expect(await fs.lstat(join(granted, 'sub', 'f'))).toMatchObject({ type: 'file', size: 6 });
    // Still in the same turn: the cache holds sub open, and it is swapped for a symlink now.
    expect(openUnder(granted)).toContain(join(granted, 'sub'));
    renameSync(join(granted, 'sub'), join(granted, 'sub-old'));
    symlinkSync(secret, join(granted, 'sub'));
    const e = await rejection(fs.lstat(join(granted, 'sub', 'f')));
    expect(e.code).toBe('CX_ERR_PERMISSION_DENIED');
    expect(e.message).toContain(`may not read '${secret}/f'`);
    const w = await rejection(fs.writeFile(join(granted, 'sub', 'f'), 'x'));
    expect(w.code).toBe('CX_ERR_PERMISSION_DENIED');
    expect(await readFile(join(secret, 'f'), 'utf8')).toBe('SECRET');
  });

  it('a held directory moved out of the grant is not written through', async () => {
    const { fs } = caps([`read:${granted}`, `write:${granted}`]);
    await fs.writeFile(join(granted, 'sub', 'a'), 'one');
    // Moved outside the grant while its descriptor is held: the next call resolves the path again.
    expect(openUnder(granted)).toContain(join(granted, 'sub'));
    renameSync(join(granted, 'sub'), join(secret, 'moved'));
    mkdirSync(join(granted, 'sub'));
    await fs.writeFile(join(granted, 'sub', 'a'), 'two');
    expect(await readFile(join(secret, 'moved', 'a'), 'utf8')).toBe('one');
    expect(await readFile(join(granted, 'sub', 'a'), 'utf8')).toBe('two');
  });

  it('holds nothing open once the plugin stops calling', async () => {
    const { fs } = caps([`read:${granted}`, `write:${granted}`]);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => fs.writeFile(join(granted, 'sub', `n${i}`), String(i), { mode: 0o600 })),
    );
    for (let i = 0; i < 20; i++) await fs.lstat(join(granted, 'sub', `n${i}`));
    await nextTurn();
    expect(openUnder(dir)).toEqual([]);
  });
});
