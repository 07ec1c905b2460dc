import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { startPlugin } from 'cx-ops/sdk/testing';

const dir = new URL('..', import.meta.url);
// The heal plugin (it declares heal-resolver and heal-action) and what it requires, as built in dist/.
const alongside = ['heal', 'daemon'].map((n) =>
  fileURLToPath(new URL(`../../../dist/plugins-builtin/${n}`, import.meta.url)),
);
const issue = (component: string) => ({
  type: 'SERVICE',
  severity: 'HIGH',
  description: `service ${component} is not running`,
  component,
  metric_value: 1,
  threshold: 1,
  timestamp: '2026-12-02T06:00:00.000Z',
  detector: 'service',
});

/** An exec fake that records each call; systemctl is-active answers `state`. */
function systemctl(state: string) {
  const calls: string[] = [];
  return {
    calls,
    fakes: {
      exec: {
        run: async (command: string, args: string[]) => {
          calls.push([command, ...args].join(' '));
          return command === 'systemctl' && args[0] === 'is-active'
            ? { exitCode: state === 'active' ? 0 : 3, stdout: `${state}\n`, stderr: '' }
            : { exitCode: 0, stdout: '', stderr: '' };
        },
      },
    },
  };
}

test('claims my_special_service only (null: the next resolver, heal/default, is asked)', async () => {
  const p = await startPlugin(dir, { alongside, grants: [] });
  try {
    expect(await p.invoke('heal-resolver', 'my-special-service', issue('my_special_service'))).toEqual({
      action: 'custom_restart',
      parameters: { service: 'my_special_service', wait_time: 10 },
    });
    expect(await p.invoke('heal-resolver', 'my-special-service', issue('nginx'))).toBeNull();
  } finally {
    await p.close();
  }
});

test('custom_restart restarts, waits, checks; in a dry run it only records the exact commands', async () => {
  const up = systemctl('active');
  const p = await startPlugin(dir, { alongside, fakes: up.fakes });
  try {
    const input = { issue: issue('my_special_service'), parameters: { wait_time: 10 } };
    expect(await p.invoke('heal-action', 'custom_restart', input)).toEqual({
      ok: true,
      detail: 'my_special_service restarted and active after 10s',
    });
    expect(up.calls).toEqual([
      'systemctl restart my_special_service',
      'sleep 10',
      'systemctl is-active my_special_service',
    ]);
    const planned = (await p.invoke('heal-action', 'custom_restart', input, { dryRun: true })) as Record<
      string,
      unknown
    >;
    expect(planned).toMatchObject({ ok: true, detail: 'would restart my_special_service and check it after 10s' });
    expect(planned.dry_run_actions).toEqual([
      expect.stringContaining('systemctl restart my_special_service'),
      expect.stringContaining('sleep 10'),
      expect.stringContaining('systemctl is-active my_special_service'),
    ]);
  } finally {
    await p.close();
  }
});

test('only its grants: without the sleep grant the action is denied, naming the grant that would allow it', async () => {
  const p = await startPlugin(dir, {
    alongside,
    grants: ['exec:systemctl restart my_special_service', 'exec:systemctl is-active my_special_service'],
    fakes: systemctl('active').fakes,
  });
  try {
    await expect(
      p.invoke('heal-action', 'custom_restart', { issue: issue('my_special_service'), parameters: { wait_time: 1 } }),
    ).rejects.toMatchObject({
      code: 'CX_ERR_PERMISSION_DENIED',
      plugin: 'special-service-healer',
      message: expect.stringContaining('cx-ops plugins grant special-service-healer'),
    });
  } finally {
    await p.close();
  }
});
