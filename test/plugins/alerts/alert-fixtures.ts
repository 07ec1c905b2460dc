/** The checks and receiver types the alerts tests read rules against, and roots whose memory check fails. */
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempRoot, type TempRoot } from '../../helpers/run-cli.js';
import { doctorFixture } from '../daemon/daemon-process.js';
import type { ContributionInfo } from '../../../sdk/index.js';
import { alertmanagerReceiver } from '../../../plugins-builtin/alerts/receivers/alertmanager.js';
import { pagerDutyReceiver } from '../../../plugins-builtin/alerts/receivers/pagerduty.js';
import { slackReceiver } from '../../../plugins-builtin/alerts/receivers/slack.js';
import { webhookReceiver } from '../../../plugins-builtin/alerts/receivers/webhook.js';

export const CHECKS = new Map([
  ['disk_space', 'disk'],
  ['memory', 'memory'],
  ['cpu_load', 'performance'],
  ['systemd_failed', 'services'],
  ['network_connectivity', 'network'],
  ['dns_resolution', 'network'],
]);

export const TYPES: ContributionInfo[] = [webhookReceiver, slackReceiver, pagerDutyReceiver, alertmanagerReceiver].map(
  (c) => ({ kind: 'alert-receiver', id: c.id, plugin: 'alerts', tier: 'trusted', meta: c.meta }),
);

/**
 * A temp root whose memory check fails (the stressed meminfo over the healthy host), with
 * `alerts: { host: web1 }` in config.yaml and `alertsYaml` as its alerts.yaml.
 */
export async function failingMemoryRoot(prefix: string, alertsYaml: string): Promise<TempRoot> {
  const t = await tempRoot(prefix);
  await cp(doctorFixture('healthy'), t.root, { recursive: true });
  await setMemory(t.root, 'stressed');
  await mkdir(join(t.root, 'etc/cx'), { recursive: true });
  await writeFile(join(t.root, 'etc/cx/config.yaml'), 'alerts: { host: web1 }\n');
  await writeFile(join(t.root, 'etc/cx/alerts.yaml'), alertsYaml);
  return t;
}

/** Makes the memory check of `root` pass (healthy) or fail (stressed). */
export const setMemory = (root: string, which: 'healthy' | 'stressed') =>
  cp(doctorFixture(`${which}/proc/meminfo`), join(root, 'proc/meminfo'));
