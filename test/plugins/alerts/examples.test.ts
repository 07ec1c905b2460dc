/**
 * examples/alerts: the alerts.yaml example loads against the real registry (every check and
 * receiver type it names exists), the Prometheus rules pass promtool and the Alertmanager route
 * config passes amtool (each skipped only when its tool is missing).
 */
import { existsSync } from 'node:fs';
import { cp, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tempRoot, type TempRoot } from '../../helpers/run-cli.js';

const EXAMPLES = fileURLToPath(new URL('../../../examples/alerts/', import.meta.url));
const AMTOOL = process.env.CX_AMTOOL_BIN ?? '/usr/bin/amtool';

let t: TempRoot;
beforeAll(async () => {
  t = await tempRoot('cx-alerts-examples-');
  await mkdir(join(t.root, 'etc/cx'), { recursive: true });
  await cp(join(EXAMPLES, 'alerts.yaml'), join(t.root, 'etc/cx/alerts.yaml'));
});
afterAll(() => t.cleanup());

describe('examples/alerts', () => {
  test('alerts.yaml loads: its rules, receivers (their missing secret files named) and the seed rules', async () => {
    const r = await t.run(['alerts', 'list', '--json']);
    expect(r.exitCode).toBe(0);
    const list = JSON.parse(r.stdout);
    expect(list.rules.map((x: { name: string }) => x.name)).toEqual([
      'disk-critical',
      'service-down',
      'network-down',
      'dns-down',
      'memory-pressure',
      'task-failed',
      'component-unmonitored',
    ]);
    const slack = list.receivers.find((x: { name: string }) => x.name === 'slack');
    expect(slack.broken).toBe('webhook_url_file: the secret file /etc/cx/slack.url does not exist');
  });

  test.skipIf(!existsSync('/usr/bin/promtool'))('prometheus-rules.yml passes promtool check rules', async () => {
    const r = await execa('promtool', ['check', 'rules', join(EXAMPLES, 'prometheus-rules.yml')], { reject: false });
    expect(r.stdout).toContain('SUCCESS: 4 rules found');
    expect(r.exitCode).toBe(0);
  });

  test.skipIf(!existsSync(AMTOOL))('alertmanager.yml passes amtool check-config', async () => {
    const r = await execa(AMTOOL, ['check-config', join(EXAMPLES, 'alertmanager.yml')], { reject: false });
    expect(r.stdout).toContain('SUCCESS');
    expect(r.exitCode).toBe(0);
  });
});
