/**
 * The `alertmanager` receiver against Debian's real prometheus-alertmanager, started here on
 * 127.0.0.1 (a free port, clustering off, temp storage): after a check fails the alert is in
 * Alertmanager with the host label and goes out to Alertmanager's own webhook receiver; after it
 * recovers the alert ends (resolved sent by Alertmanager); a silence made in Alertmanager keeps its
 * receiver from getting it. Skipped only when the binary is missing (.ci/run installs it);
 * CX_ALERTMANAGER_BIN points at another one.
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tempRoot, type TempRoot } from '../../helpers/run-cli.js';
import { closedPort } from '../../helpers/local-servers.js';
import { doctorFixture, eventually } from '../daemon/daemon-process.js';
import { receiverServer, type ReceiverServer } from './receiver-server.js';

const BIN = process.env.CX_ALERTMANAGER_BIN ?? '/usr/bin/prometheus-alertmanager';
const present = existsSync(BIN);

let t: TempRoot;
let hook: ReceiverServer;
let am: ResultPromise | undefined;
let amDir: string;
let amUrl: string;

beforeAll(async () => {
  if (!present) return;
  hook = await receiverServer();
  amDir = await mkdtemp(join(tmpdir(), 'cx-am-'));
  await writeFile(
    join(amDir, 'alertmanager.yml'),
    `route:
  receiver: hook
  group_by: [alertname, host]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: ${hook.url}/am
        send_resolved: true
`,
  );
  const port = await closedPort();
  amUrl = `http://127.0.0.1:${port}`;
  am = execa(
    BIN,
    [
      `--config.file=${join(amDir, 'alertmanager.yml')}`,
      `--storage.path=${join(amDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    { reject: false, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe' },
  );
  await eventually(
    async () => (await fetch(`${amUrl}/-/ready`).catch(() => undefined))?.ok,
    'alertmanager ready',
    30_000,
  );
  t = await tempRoot('cx-alerts-am-');
  await cp(doctorFixture('healthy'), t.root, { recursive: true });
  await mkdir(join(t.root, 'etc/cx'), { recursive: true });
  await writeFile(join(t.root, 'etc/cx/config.yaml'), 'alerts: { host: web1 }\n');
  await writeFile(
    join(t.root, 'etc/cx/alerts.yaml'),
    `alerts:
  - name: memory-high
    check: memory
    labels: { severity: critical }
    actions: [{ type: alertmanager, url: '${amUrl}' }]
`,
  );
}, 60_000);
afterAll(async () => {
  if (am) {
    am.kill('SIGTERM');
    await am;
  }
  await hook?.close();
  await t?.cleanup();
  if (amDir) await rm(amDir, { recursive: true, force: true });
});

const memory = (which: 'healthy' | 'stressed') =>
  cp(doctorFixture(`${which}/proc/meminfo`), join(t.root, 'proc/meminfo'));
const amAlerts = async () =>
  (await (await fetch(`${amUrl}/api/v2/alerts`)).json()) as Array<{
    labels: Record<string, string>;
    status: { state: string };
    endsAt: string;
  }>;

describe.skipIf(!present)('the alertmanager receiver against a real Alertmanager', () => {
  test('a failing check is an alert in Alertmanager with the host label, routed to its receiver; it ends when the check recovers', async () => {
    await memory('stressed');
    const r = await t.run(['alerts', 'check', '--check', 'memory']);
    expect(r.stdout).toContain('alerts: 1 firing (memory-high); 1 notification(s) sent');
    const [got] = await eventually(async () => {
      const a = await amAlerts();
      return a.length ? a : undefined;
    }, 'the alert in Alertmanager');
    expect(got!.labels).toEqual({ alertname: 'memory-high', check: 'memory', host: 'web1', severity: 'critical' });
    expect(got!.status.state).toBe('active');
    const [fired] = await hook.waitFor(1);
    expect(fired!.json).toMatchObject({
      status: 'firing',
      receiver: 'hook',
      groupLabels: { alertname: 'memory-high', host: 'web1' },
    });
    expect(fired!.json.alerts[0].labels.host).toBe('web1');

    await memory('healthy');
    await t.run(['alerts', 'check', '--check', 'memory']);
    await eventually(async () => !(await amAlerts()).some((a) => a.status.state === 'active'), 'the alert ended');
    const resolved = await eventually(
      async () => hook.received.find((x) => x.json?.status === 'resolved'),
      "Alertmanager's resolved notification",
    );
    expect(resolved.json.alerts[0].labels.alertname).toBe('memory-high');
  }, 90_000);

  test('a silence made in Alertmanager keeps its receiver from getting the alert', async () => {
    const sil = await fetch(`${amUrl}/api/v2/silences`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        matchers: [{ name: 'alertname', value: 'memory-high', isRegex: false, isEqual: true }],
        startsAt: new Date().toISOString(),
        endsAt: new Date(Date.now() + 3_600_000).toISOString(),
        createdBy: 'cx-ops test',
        comment: 'maintenance',
      }),
    });
    expect(sil.status).toBe(200);
    const before = hook.received.length;
    await memory('stressed');
    await t.run(['alerts', 'check', '--check', 'memory']);
    const [a] = await eventually(async () => {
      const x = await amAlerts();
      return x.length ? x : undefined;
    }, 'the alert back in Alertmanager');
    expect(a!.status.state).toBe('suppressed');
    await new Promise((r) => setTimeout(r, 3000)); // past group_wait and group_interval
    expect(hook.received.length).toBe(before);
  }, 90_000);
});
