// systemd and NTP clients do not run on this build machine, so these paths run the real
// checks-system plugin under the SDK harness with systemctl / chronyc / timedatectl answered by
// exec fakes (captured outputs); everything else (kernel, context, dry run, audit) is real.
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import { startPlugin, type StartedPlugin } from 'cx-ops/sdk/testing';

const PLUGIN = fileURLToPath(new URL('../../../dist/plugins-builtin/checks-system', import.meta.url));
let plugin: StartedPlugin | undefined;
let root: string | undefined;
afterEach(async () => {
  await plugin?.close();
  if (root) await rm(root, { recursive: true, force: true });
  plugin = root = undefined;
});

async function host(files: string[]): Promise<string> {
  root = await mkdtemp(join(tmpdir(), 'cx-doctor-harness-'));
  await cp(fileURLToPath(new URL('../../helpers/fixtures/healthy', import.meta.url)), root, { recursive: true });
  for (const f of files) {
    await mkdir(join(root, f, '..'), { recursive: true });
    if (f.endsWith('/')) await mkdir(join(root, f), { recursive: true });
    else await writeFile(join(root, f), '');
  }
  return root;
}

type Answers = Record<string, { exitCode?: number; stdout?: string; stderr?: string }>;
const execFake = (answers: Answers, calls: string[] = []) => ({
  exec: {
    run: async (command: string, args: string[]) => {
      const line = [command, ...args].join(' ');
      calls.push(line);
      const a = answers[line] ?? Object.entries(answers).find(([k]) => line.startsWith(k))?.[1];
      return {
        exitCode: a?.exitCode ?? 127,
        stdout: a?.stdout ?? '',
        stderr: a?.stderr ?? (a ? '' : `${command}: not faked`),
      };
    },
  },
});

const FAILED =
  '● nginx.service loaded failed failed A high performance web server\nfoo@1.service loaded failed failed Foo worker\n';

describe('systemd_failed', () => {
  test('failed units are FAIL (ignore globs honoured); the fix would restart each one', async () => {
    const calls: string[] = [];
    plugin = await startPlugin(PLUGIN, {
      tier: 'trusted',
      root: await host(['run/systemd/system/']),
      config: { systemd_failed: { ignore_units: ['foo@*'] } },
      fakes: execFake({ 'systemctl list-units': { exitCode: 0, stdout: FAILED } }, calls),
    });
    const r = await plugin.check('systemd_failed');
    expect(r).toMatchObject({
      status: 'FAIL',
      message: '1 failed unit: nginx.service',
      fix_id: 'restart_failed_units',
      details: { failed: [{ unit: 'nginx.service', sub: 'failed' }] },
    });
    expect(calls).toEqual(['systemctl list-units --state=failed --no-legend --plain --no-pager']);
    const planned = (await plugin.invoke('fix', 'restart_failed_units', { result: r } as never, {
      dryRun: true,
    })) as Record<string, unknown>;
    expect(planned).toMatchObject({
      ok: true,
      actions: ['systemctl restart nginx.service'],
      dry_run_actions: [expect.stringContaining('systemctl restart nginx.service')],
    });
    expect(calls).toHaveLength(1); // the restart was recorded, not run
  });

  test('no failed units is PASS; systemctl failing is ERROR with its message; no systemd is SKIP', async () => {
    plugin = await startPlugin(PLUGIN, {
      tier: 'trusted',
      root: await host(['run/systemd/system/']),
      fakes: execFake({ 'systemctl list-units': { exitCode: 0, stdout: '' } }),
    });
    expect(await plugin.check('systemd_failed')).toMatchObject({ status: 'PASS', message: 'no failed units' });
    await plugin.close();
    plugin = await startPlugin(PLUGIN, {
      tier: 'trusted',
      root: root!,
      fakes: execFake({
        'systemctl list-units': { exitCode: 1, stderr: 'Failed to connect to bus: No such file or directory' },
      }),
    });
    expect(await plugin.check('systemd_failed')).toMatchObject({
      status: 'ERROR',
      message: 'systemctl list-units failed: Failed to connect to bus: No such file or directory',
      fix_id: null,
    });
    await plugin.close();
    await rm(root!, { recursive: true, force: true });
    plugin = await startPlugin(PLUGIN, { tier: 'trusted', root: await host([]), fakes: execFake({}) });
    expect(await plugin.check('systemd_failed')).toMatchObject({ status: 'SKIP' });
  });
});

describe('time_sync', () => {
  test('chrony not synchronised is FAIL; the fix would restart chrony', async () => {
    plugin = await startPlugin(PLUGIN, {
      tier: 'trusted',
      root: await host(['usr/bin/chronyc', 'usr/sbin/chronyd']),
      fakes: execFake({
        'chronyc -n tracking': {
          exitCode: 0,
          stdout:
            'Reference ID    : 00000000 ()\nSystem time     : 0.000000000 seconds fast of NTP time\nLeap status     : Not synchronised\n',
        },
      }),
    });
    const r = await plugin.check('time_sync');
    expect(r).toMatchObject({
      status: 'FAIL',
      message: 'clock not synchronised (chrony: Not synchronised)',
      fix_id: 'time_sync_restart',
      details: { service: 'chrony' },
    });
    const planned = (await plugin.invoke('fix', 'time_sync_restart', { result: r } as never, {
      dryRun: true,
    })) as Record<string, unknown>;
    expect(planned).toMatchObject({
      actions: ['systemctl restart chrony'],
      dry_run_actions: [expect.stringContaining('systemctl restart chrony')],
    });
  });

  test('chrony offsets are graded by warn/fail_offset_ms', async () => {
    plugin = await startPlugin(PLUGIN, {
      tier: 'trusted',
      root: await host(['usr/bin/chronyc', 'usr/sbin/chronyd']),
      config: { time_sync: { warn_offset_ms: 100, fail_offset_ms: 1000 } },
      fakes: execFake({
        'chronyc -n tracking': {
          exitCode: 0,
          stdout:
            'Reference ID    : C0000201 (192.0.2.1)\nSystem time     : 0.250000000 seconds slow of NTP time\nLeap status     : Normal\n',
        },
      }),
    });
    expect(await plugin.check('time_sync')).toMatchObject({
      status: 'WARN',
      message: 'clock synchronised (chrony), offset -250 ms',
      details: { offset_ms: -250, source: 'chrony' },
    });
  });

  test('systemd-timesyncd via timedatectl: not synchronised is FAIL naming the service', async () => {
    plugin = await startPlugin(PLUGIN, {
      tier: 'trusted',
      root: await host(['run/systemd/system/', 'usr/bin/timedatectl', 'lib/systemd/systemd-timesyncd']),
      fakes: execFake({ 'timedatectl show': { exitCode: 0, stdout: 'Timezone=UTC\nNTP=yes\nNTPSynchronized=no\n' } }),
    });
    expect(await plugin.check('time_sync')).toMatchObject({
      status: 'FAIL',
      message: 'clock not synchronised (timedatectl: NTPSynchronized=no)',
      details: { service: 'systemd-timesyncd', ntp: 'yes', synchronized: 'no' },
    });
  });
});
