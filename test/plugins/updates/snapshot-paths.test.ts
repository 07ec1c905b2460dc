// updates.snapshot_paths: operator-chosen host paths (here /etc of a temp root) are snapshotted
// with their excludes and restored byte for byte by rollback.
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rollbackTo } from '../../../plugins-builtin/updates/rollback.js';
import { createSnapshot } from '../../../plugins-builtin/updates/snapshot-store.js';
import { bootKernel, builtinPlugin, type KernelHost } from '../../helpers/kernel-host.js';
import { assertMatchesSchema } from '../../helpers/report-schemas.js';

const cleanup: string[] = [];
const hosts: KernelHost[] = [];
afterAll(async () => {
  for (const h of hosts) await h.close();
  for (const d of cleanup) rmSync(d, { recursive: true, force: true });
});

describe('updates.snapshot_paths', () => {
  it('snapshots /etc (less its excludes and cx-ops own /etc/cx) and rollback restores it byte for byte', async () => {
    const root = mkdtempSync(join(tmpdir(), 'cx-snap-paths-'));
    cleanup.push(root);
    const etc = join(root, 'etc');
    mkdirSync(join(etc, 'nginx'), { recursive: true });
    mkdirSync(join(etc, 'ssl/private'), { recursive: true });
    mkdirSync(join(etc, 'cx'), { recursive: true });
    writeFileSync(join(etc, 'nginx/nginx.conf'), Buffer.from([0x75, 0x73, 0x65, 0x72, 0x00, 0xff, 0x0a]));
    chmodSync(join(etc, 'nginx/nginx.conf'), 0o640);
    chownSync(join(etc, 'nginx/nginx.conf'), 33, 4);
    writeFileSync(join(etc, 'hostname'), 'web1\n');
    symlinkSync('nginx/nginx.conf', join(etc, 'current.conf'));
    writeFileSync(join(etc, 'ssl/private/key.pem'), 'secret-1\n');
    writeFileSync(
      join(etc, 'cx/config.yaml'),
      'updates:\n  snapshot_paths: [/etc]\n  snapshot_exclude: [/etc/ssl/private]\n',
    );
    const h = await bootKernel({
      plugins: [builtinPlugin('updates')],
      root,
      configDir: join(etc, 'cx'),
      dataDir: join(root, 'var/lib/cx'),
    });
    hosts.push(h);
    const ctx = h.ctx('updates');
    const m = await createSnapshot(ctx, {
      reason: 'test',
      packages: { updater: null, available: false, reason: 'none', list: [] },
    });
    assertMatchesSchema('snapshot-manifest', m);
    const area = m.areas.find((a) => a.name === 'path:/etc')!;
    expect(area).toMatchObject({ dir: etc, present: true, archive: 'path-0.tar' });
    expect(area.exclude.sort()).toEqual([join(etc, 'cx'), join(etc, 'ssl/private')]);
    expect(area.entries.map((e) => e.path)).toEqual(['current.conf', 'hostname', 'nginx', 'nginx/nginx.conf', 'ssl']);

    writeFileSync(join(etc, 'nginx/nginx.conf'), 'broken\n');
    chmodSync(join(etc, 'nginx/nginx.conf'), 0o666);
    rmSync(join(etc, 'hostname'));
    rmSync(join(etc, 'current.conf'));
    writeFileSync(join(etc, 'current.conf'), 'not a link\n');
    writeFileSync(join(etc, 'new.conf'), 'made since\n');
    writeFileSync(join(etc, 'ssl/private/key.pem'), 'secret-2\n');

    const r = await rollbackTo(ctx, m, { restorePackages: null });
    expect(r.ok).toBe(true);
    expect(r.areas.map((a) => a.name)).toEqual(['config', 'data', 'path:/etc']);
    expect(r.areas[2]).toMatchObject({ mismatches: [], removed: expect.arrayContaining(['new.conf', 'current.conf']) });
    expect(readFileSync(join(etc, 'nginx/nginx.conf'))).toEqual(
      Buffer.from([0x75, 0x73, 0x65, 0x72, 0x00, 0xff, 0x0a]),
    );
    const st = lstatSync(join(etc, 'nginx/nginx.conf'));
    expect([st.mode & 0o7777, st.uid, st.gid]).toEqual([0o640, 33, 4]);
    expect(readFileSync(join(etc, 'hostname'), 'utf8')).toBe('web1\n');
    expect(readlinkSync(join(etc, 'current.conf'))).toBe('nginx/nginx.conf');
    expect(existsSync(join(etc, 'new.conf'))).toBe(false);
    // Excluded: neither taken nor put back.
    expect(readFileSync(join(etc, 'ssl/private/key.pem'), 'utf8')).toBe('secret-2\n');
  });
});
