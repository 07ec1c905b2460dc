/**
 * The receivers against HTTP servers on 127.0.0.1, driven by `cx-ops alerts check` (doctor --alert's evaluation): the exact
 * JSON of Slack's incoming webhook, PagerDuty's Events API v2 (trigger, resolve, the same
 * dedup_key) and Alertmanager's webhook; secrets from a 0600 file and from the environment never
 * shown (the whole output, --json, the history and errors are grepped); a missing secret file marks
 * the receiver broken, naming it; an unreachable receiver is retried later and holds up no other.
 */
import { chmod, cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fingerprint } from '../../../plugins-builtin/alerts/rule-engine.js';
import { LAUNCHER } from '../../helpers/run-cli.js';
import { closedPort } from '../../helpers/local-servers.js';
import { doctorFixture } from '../daemon/daemon-process.js';
import { receiverServer, type ReceiverServer } from './receiver-server.js';

const PD_SECRET = 'pdroutingkeySECRET0123456789abcd';
let root: string;
let server: ReceiverServer;
const everything: string[] = [];

const cli = async (args: string[]) => {
  const r = await execa(process.execPath, ['--no-node-snapshot', LAUNCHER, '--root', root, ...args], {
    reject: false,
    env: { HOME: join(root, 'home'), NO_COLOR: '1', CX_PLUGIN_PATH: '', PD_KEY: PD_SECRET },
    extendEnv: false,
    input: '',
    timeout: 60_000,
  });
  everything.push(r.stdout, r.stderr);
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
};
const memory = (which: 'healthy' | 'stressed') =>
  cp(doctorFixture(`${which}/proc/meminfo`), join(root, 'proc/meminfo'));

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cx-alerts-'));
  await cp(doctorFixture('healthy'), root, { recursive: true });
  await mkdir(join(root, 'etc/cx'), { recursive: true });
  server = await receiverServer();
  server.respondWith(202);
  await writeFile(join(root, 'etc/cx/slack.url'), `${server.url}/slack\n`);
  await chmod(join(root, 'etc/cx/slack.url'), 0o600);
  const down = await closedPort();
  await writeFile(join(root, 'etc/cx/config.yaml'), `alerts: { host: web1, retry: { initial_backoff: 1ms } }\n`);
  await writeFile(
    join(root, 'etc/cx/alerts.yaml'),
    `receivers:
  slack: { type: slack, webhook_url_file: ${join(root, 'etc/cx/slack.url')}, channel: '#alerts' }
  pd: { type: pagerduty, routing_key_env: PD_KEY, url: '${server.url}/v2/enqueue', component: host-memory }
  down: { type: webhook, url: 'http://127.0.0.1:${down}/hook' }
  nosecret: { type: slack, webhook_url_file: ${join(root, 'etc/cx/missing.url')} }
alerts:
  - name: memory-high
    check: memory
    labels: { severity: critical }
    annotations: { summary: 'memory on {{host}}', description: '{{message}}' }
    runbook: https://runbooks.example.com/memory
    actions: [{ receiver: down }, { receiver: slack }, { receiver: pd }, { receiver: nosecret }]
`,
  );
});
afterAll(async () => {
  await server?.close();
  await rm(root, { recursive: true, force: true });
});

const LABELS = { alertname: 'memory-high', check: 'memory', host: 'web1', severity: 'critical' };

describe('receivers', () => {
  test('trigger: Slack blocks and a PagerDuty trigger, exactly; the dead and the broken receiver hold up neither', async () => {
    await memory('stressed');
    const r = await cli(['alerts', 'check', '--check', 'memory']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('alerts: 1 firing (memory-high); 2 notification(s) sent, 2 failed (queued for retry)');
    const got = await server.waitFor(2);
    const slack = got.find((x) => x.path === '/slack')!;
    const pd = got.find((x) => x.path === '/v2/enqueue')!;
    const message = slack.json.blocks[1].fields[2].text.replace('*Message*\n', '');
    expect(message).toMatch(/^98% of 7\.6 GiB in use/);
    expect(slack.json).toEqual({
      channel: '#alerts',
      text: '[FIRING:1] memory-high on web1',
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: '[FIRING:1] memory-high on web1' } },
        {
          type: 'section',
          text: { type: 'mrkdwn', text: '*:red_circle: memory on web1*' },
          fields: [
            { type: 'mrkdwn', text: '*Check*\nmemory' },
            { type: 'mrkdwn', text: '*Status*\nFAIL' },
            { type: 'mrkdwn', text: `*Message*\n${message}` },
            { type: 'mrkdwn', text: '*Host*\nweb1' },
          ],
        },
        { type: 'context', elements: [{ type: 'mrkdwn', text: '1 firing, 0 resolved · cx-ops' }] },
      ],
    });
    expect(pd.json).toEqual({
      routing_key: PD_SECRET,
      event_action: 'trigger',
      dedup_key: fingerprint(LABELS),
      payload: {
        summary: 'memory on web1',
        source: 'web1',
        severity: 'critical',
        component: 'host-memory',
        timestamp: pd.json.payload.timestamp,
        custom_details: {
          check: 'memory',
          status: 'FAIL',
          message,
          value: '98',
          labels: LABELS,
          description: message,
          flapping: false,
        },
      },
      links: [{ href: 'https://runbooks.example.com/memory', text: 'Runbook' }],
    });
    const list = await cli(['alerts', 'list', '--json']);
    const receivers = JSON.parse(list.stdout).receivers;
    expect(receivers.find((x: { name: string }) => x.name === 'nosecret')).toEqual({
      name: 'nosecret',
      type: 'slack',
      plugin: 'alerts',
      broken: `webhook_url_file: the secret file ${join(root, 'etc/cx/missing.url')} does not exist`,
      queued: 1,
    });
    expect(receivers.find((x: { name: string }) => x.name === 'down').queued).toBe(1);
  });

  test('a second run while still firing sends nothing new; retries of the dead receiver are counted in the history', async () => {
    const r = await cli(['alerts', 'check', '--check', 'memory']);
    expect(r.stdout).toContain('alerts: 1 firing (memory-high); 0 notification(s) sent, 2 failed (queued for retry)');
    expect(server.received).toHaveLength(2);
    const h = JSON.parse((await cli(['alerts', 'history', '--json'])).stdout);
    const failed = h.events.filter((e: { type: string }) => e.type === 'notification_failed');
    expect(failed.map((e: { data: { receiver: string } }) => e.data.receiver).sort()).toEqual([
      'down',
      'down',
      'nosecret',
      'nosecret',
    ]);
    expect(failed.find((e: { data: { receiver: string } }) => e.data.receiver === 'down').message).toMatch(
      /ECONNREFUSED/,
    );
  });

  test('resolve: a PagerDuty resolve with the same dedup_key, and Slack says resolved', async () => {
    await memory('healthy');
    const r = await cli(['alerts', 'check', '--check', 'memory']);
    expect(r.exitCode).toBe(0);
    const got = await server.waitFor(4);
    const pd = got.filter((x) => x.path === '/v2/enqueue')[1]!;
    expect(pd.json).toEqual({ routing_key: PD_SECRET, event_action: 'resolve', dedup_key: fingerprint(LABELS) });
    const slack = got.filter((x) => x.path === '/slack')[1]!;
    expect(slack.json.text).toBe('[RESOLVED] memory-high on web1');
    expect(slack.json.blocks[1].fields[1]).toEqual({ type: 'mrkdwn', text: '*Status*\nRESOLVED' });
  });

  test('alerts test sends through each receiver, or one with --receiver; an unknown one is a JSON error with close names', async () => {
    const r = await cli(['alerts', 'test', 'memory-high', '--receiver', 'slack', '--json']);
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      rule: 'memory-high',
      results: [{ receiver: 'slack', type: 'slack', ok: true, detail: 'HTTP 202' }],
    });
    const last = server.received[server.received.length - 1]!;
    expect(last.json.text).toBe('[TEST] [FIRING:1] memory-high on web1');
    const bad = await cli(['alerts', 'test', 'memory-high', '--receiver', 'slak', '--json']);
    expect(bad.exitCode).toBe(2);
    expect(JSON.parse(bad.stdout).error).toMatchObject({ code: 'CX_ERR_ALERT_UNKNOWN', suggestions: ['slack'] });
    const all = await cli(['alerts', 'test', 'memory-high']);
    expect(all.exitCode).toBe(1);
    expect(all.stdout).toContain(
      "FAILED nosecret (slack): receiver 'nosecret' is broken: webhook_url_file: the secret file",
    );
  });

  test('the secrets appear nowhere: not in any output, --json, error or the history', async () => {
    everything.push((await cli(['alerts', 'list'])).stdout, (await cli(['alerts', 'history', '--json'])).stdout);
    everything.push(
      (await cli(['history', '--json'])).stdout,
      (await cli(['alerts', 'silences', '--all', '--json'])).stdout,
    );
    const text = everything.join('\n');
    expect(text.length).toBeGreaterThan(2000);
    expect(text).not.toContain(PD_SECRET);
    expect(text).not.toContain(`${server.url}/slack`);
    expect(text).not.toContain('/slack');
  });
});
