/**
 * OnShutdown: `cx-ops automation shutdown` runs the enabled OnShutdown tasks and nothing else
 * (recorded as Event OnShutdown), its dry run changes nothing, and the shipped
 * cx-ops-shutdown.service — whose ExecStop runs it as systemd stops units at shutdown — passes
 * the real systemd-analyze verify. (systemd itself is not PID 1 here: the unit's ordering is
 * systemd's to keep.)
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LAUNCHER, tempRoot, type TempRoot } from '../../helpers/run-cli.js';
import { HAVE_SYSTEMD_ANALYZE, verifyUnit } from '../../helpers/systemd-verify.js';

const UNIT = fileURLToPath(new URL('../../../plugins-builtin/automation/cx-ops-shutdown.service', import.meta.url));
let t: TempRoot;
const marker = (name: string) => join(t.root, 'var/lib', name);

beforeAll(async () => {
  t = await tempRoot('cx-on-shutdown-');
  await mkdir(join(t.root, 'etc/cx'), { recursive: true });
  await mkdir(join(t.root, 'var/lib'), { recursive: true });
  const write = (name: string) => `{ command: [sh, -c, 'echo ran > "$0"', ${JSON.stringify(marker(name))}] }`;
  await writeFile(
    join(t.root, 'etc/cx/config.yaml'),
    `automation:
  retry_failed_tasks: false
  tasks:
    - { id: at-shutdown, type: command, schedule: OnShutdown, config: ${write('shutdown.marker')} }
    - { id: off-at-shutdown, type: command, schedule: OnShutdown, enabled: false, config: ${write('off.marker')} }
    - { id: nightly, type: command, schedule: "0 3 * * *", config: ${write('nightly.marker')} }
    - { id: at-boot, type: command, schedule: OnBoot, config: ${write('boot.marker')} }
`,
  );
});
afterAll(() => t.cleanup());

describe('OnShutdown', () => {
  test('automation shutdown runs the enabled OnShutdown tasks only; --dry-run changes nothing', async () => {
    const dry = await t.run(['automation', 'shutdown', '--dry-run']);
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toContain('at-shutdown: Success');
    expect(existsSync(marker('shutdown.marker'))).toBe(false);
    // A dry run changes nothing: not even the history store is created (it crashed on that before).
    const dryRun = await t.run(['automation', 'run', 'nightly', '--dry-run']);
    expect(dryRun).toMatchObject({ exitCode: 0, stderr: '' });
    expect(existsSync(join(t.root, 'var/lib/cx'))).toBe(false);

    const r = await t.run(['automation', 'shutdown', '--json']);
    expect(r.exitCode).toBe(0);
    const { executions } = JSON.parse(r.stdout);
    expect(executions.map((e: { task_id: string }) => e.task_id)).toEqual(['at-shutdown']);
    expect(executions[0]).toMatchObject({ status: 'Success', trigger: { type: 'Event', detail: 'OnShutdown' } });
    expect(await readFile(marker('shutdown.marker'), 'utf8')).toBe('ran\n');
    for (const other of ['off.marker', 'nightly.marker', 'boot.marker']) expect(existsSync(marker(other))).toBe(false);
    const status = JSON.parse((await t.run(['automation', 'status', 'at-shutdown', '--json'])).stdout);
    expect(status.executions[0]).toMatchObject({ status: 'Success', trigger: { detail: 'OnShutdown' } });
  });

  test.skipIf(!HAVE_SYSTEMD_ANALYZE)(
    'the shipped cx-ops-shutdown.service passes systemd-analyze verify (ExecStop pointed at this checkout)',
    async () => {
      const text = await readFile(UNIT, 'utf8');
      expect(text).toMatch(/^ExecStop=\/usr\/local\/bin\/cx-ops automation shutdown$/m);
      expect(text).toMatch(/^RemainAfterExit=yes$/m);
      const unit = text.replace(/^ExecStop=.*$/m, `ExecStop=${process.execPath} ${LAUNCHER} automation shutdown`);
      expect(await verifyUnit('cx-ops-shutdown.service', unit)).toEqual({ said: [], exitCode: 0 });
    },
  );
});
