import { expect, test } from 'vitest';
import { startPlugin } from 'cx-ops/sdk/testing';

const dir = new URL('..', import.meta.url);
const active = { exec: { run: async () => ({ exitCode: 0, stdout: 'active\n', stderr: '' }) } };
const inactive = { exec: { run: async () => ({ exitCode: 3, stdout: 'inactive\n', stderr: '' }) } };

test('PASS when systemctl says active', async () => {
  const p = await startPlugin(dir, { fakes: active });
  try {
    expect(await p.check('custom_service')).toMatchObject({
      check_id: 'custom_service',
      name: 'Custom Service',
      status: 'PASS',
      message: 'Service is running',
      details: { service: 'my-service', state: 'active' },
      fix_id: null,
    });
    const audit = await p.audit();
    expect(audit).toContainEqual(
      expect.objectContaining({ plugin: 'custom-service', capability: 'exec', allowed: true }),
    );
  } finally {
    await p.close();
  }
});

test('FAIL with the restart fix when inactive; the fix in dry run only records', async () => {
  const p = await startPlugin(dir, { fakes: inactive });
  try {
    const r = await p.check('custom_service');
    expect(r).toMatchObject({ status: 'FAIL', message: 'Service is not running', fix_id: 'restart_custom_service' });
    const planned = (await p.invoke('fix', 'restart_custom_service', { result: r } as never, {
      dryRun: true,
    })) as Record<string, unknown>;
    expect(planned).toMatchObject({ actions: ['systemctl restart my-service'] });
    expect(planned.dry_run_actions).toEqual([expect.stringContaining('systemctl restart my-service')]);
  } finally {
    await p.close();
  }
});

test('SKIP, not FAIL, where systemd is not running at all (a container, a chroot)', async () => {
  const noSystemd = {
    exec: {
      run: async () => ({
        exitCode: 1,
        stdout: '',
        stderr:
          "System has not been booted with systemd as init system (PID 1). Can't operate.\nFailed to connect to bus: Host is down\n",
      }),
    },
  };
  const p = await startPlugin(dir, { fakes: noSystemd });
  try {
    expect(await p.check('custom_service')).toMatchObject({
      status: 'SKIP',
      message:
        "systemd is not answering on this host: System has not been booted with systemd as init system (PID 1). Can't operate.",
    });
  } finally {
    await p.close();
  }
});

test('without the exec grant the check is denied, naming the grant that would allow it', async () => {
  const p = await startPlugin(dir, { grants: [], fakes: active });
  try {
    await expect(p.invoke('check', 'custom_service')).rejects.toMatchObject({
      code: 'CX_ERR_PERMISSION_DENIED',
      plugin: 'custom-service',
      message: expect.stringContaining('cx-ops plugins grant custom-service'),
    });
  } finally {
    await p.close();
  }
});
