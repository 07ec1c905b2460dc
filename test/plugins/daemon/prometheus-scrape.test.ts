/**
 * /metrics against the real tools: `promtool check metrics` accepts the exposition, and a real
 * Prometheus server (Debian's, on 127.0.0.1 with a temp data dir, started and stopped here)
 * scrapes the daemon; its query API then returns cx_ops_checks_total.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { daemonRoot, eventually, type DaemonRoot, type RunningDaemon } from './daemon-process.js';

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

describe.skipIf(!existsSync('/usr/bin/prometheus') || !existsSync('/usr/bin/promtool'))(
  '/metrics with Prometheus',
  () => {
    let host: DaemonRoot;
    let d: RunningDaemon;
    beforeAll(async () => {
      host = await daemonRoot('healthy');
      await host.config('daemon:\n  interval: 1s\n  listen: 127.0.0.1:0\n  checks: [memory, cpu_load, disk_space]\n');
      d = await host.start();
      await d.waitFor((l) => l.type === 'cycle_end' && l.data?.job === 'checks', 'first cycle');
    });
    afterAll(async () => {
      await d?.stop();
      await host?.cleanup();
    });

    test('promtool check metrics accepts the exposition', async () => {
      const text = (await d.get('/metrics')).text;
      const r = await execa('promtool', ['check', 'metrics'], { input: text, reject: false });
      expect({ exitCode: r.exitCode, problems: `${r.stdout}${r.stderr}`.trim() }).toEqual({
        exitCode: 0,
        problems: '',
      });
    });

    test('a real Prometheus scrapes the daemon and its query API returns cx_ops_checks_total', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'cx-prom-'));
      const port = await freePort();
      let prom: ResultPromise | undefined;
      try {
        await writeFile(
          join(dir, 'prometheus.yml'),
          `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: cx-ops\n    static_configs:\n      - targets: ['127.0.0.1:${d.port}']\n`,
        );
        prom = execa(
          'prometheus',
          [
            `--config.file=${join(dir, 'prometheus.yml')}`,
            `--storage.tsdb.path=${join(dir, 'data')}`,
            `--web.listen-address=127.0.0.1:${port}`,
            '--log.level=warn',
          ],
          { reject: false, buffer: false, stdout: 'ignore', stderr: 'ignore' },
        );
        const api = `http://127.0.0.1:${port}`;
        await eventually(async () => (await fetch(`${api}/-/ready`)).ok, 'prometheus ready', 60_000);
        const series = await eventually(
          async () => {
            const r = (await (
              await fetch(`${api}/api/v1/query?query=${encodeURIComponent('cx_ops_checks_total{check="memory"}')}`)
            ).json()) as {
              status: string;
              data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
            };
            return r.status === 'success' && r.data.result.length > 0 && r.data.result;
          },
          'cx_ops_checks_total in Prometheus',
          60_000,
        );
        expect(series[0]!.metric).toMatchObject({
          __name__: 'cx_ops_checks_total',
          check: 'memory',
          status: 'pass',
          job: 'cx-ops',
          instance: `127.0.0.1:${d.port}`,
        });
        expect(Number(series[0]!.value[1])).toBeGreaterThan(0);
        const up = (await (await fetch(`${api}/api/v1/query?query=up`)).json()) as {
          data: { result: Array<{ value: [number, string] }> };
        };
        expect(up.data.result[0]!.value[1]).toBe('1');
      } finally {
        prom?.kill('SIGTERM');
        await prom;
        await rm(dir, { recursive: true, force: true });
      }
    });
  },
);
