/**
 * A real PostgreSQL server for a test: Debian's postgresql binaries, a cluster made by initdb in
 * a temp dir (as the postgres user), listening on 127.0.0.1 and a free port, started by the test
 * and stopped after. Nothing of the host's own clusters is touched.
 */
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

export const PG_BIN = '/usr/lib/postgresql/15/bin';

export interface PgServer {
  port: number;
  /** Runs SQL through psql as postgres on 127.0.0.1; resolves with the unaligned output. */
  sql(db: string, query: string): Promise<string>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startPostgres(): Promise<PgServer> {
  const dir = await mkdtemp(join(tmpdir(), 'cx-pg-'));
  const uid = Number((await execa('id', ['-u', 'postgres'])).stdout);
  const gid = Number((await execa('id', ['-g', 'postgres'])).stdout);
  await chown(dir, uid, gid);
  const data = join(dir, 'data');
  const as = (cmd: string, args: string[]) => execa('runuser', ['-u', 'postgres', '--', cmd, ...args], { cwd: dir });
  await as(join(PG_BIN, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const port = await freePort();
  await as(join(PG_BIN, 'pg_ctl'), [
    '-D',
    data,
    '-l',
    join(dir, 'log'),
    '-w',
    '-t',
    '120',
    '-o',
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
    'start',
  ]);
  return {
    port,
    async sql(db, query) {
      const r = await execa('psql', [
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        '-U',
        'postgres',
        '-d',
        db,
        '-At',
        '-v',
        'ON_ERROR_STOP=1',
        '-c',
        query,
      ]);
      return r.stdout;
    },
    async stop() {
      await as(join(PG_BIN, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
