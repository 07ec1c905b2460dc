import { test, expect } from 'vitest';
import { startPlugin } from 'cx-ops/sdk/testing';

// The built-in automation plugin declares the kind automation-task, so it is loaded alongside.
test('counts the entries, and is skipped when its directory is missing', async () => {
  const plugin = await startPlugin(new URL('..', import.meta.url), {
    withBuiltins: true,
    grants: ['read:/var/tmp'],
    fakes: {
      fs: {
        stat: async (path: string) =>
          path === '/var/tmp' ? { path, type: 'directory', size: 0, mode: 0o1777, uid: 0, gid: 0, mtimeMs: 0 } : null,
        readDir: async () => [
          { name: 'a', type: 'file' },
          { name: 'b', type: 'directory' },
        ],
      },
    },
  });
  try {
    const input = (phase: string, path: string) => ({
      phase,
      task_id: 'my-task',
      execution_id: 'e1',
      trigger: { type: 'Manual' },
      config: { path },
      dry_run: false,
      deadline_ms: Date.now() + 60_000,
    });
    expect(await plugin.invoke('automation-task', 'template_plugin', input('execute', '/var/tmp'))).toMatchObject({
      status: 'Success',
      output: '/var/tmp holds 2 entries',
    });
    expect(await plugin.invoke('automation-task', 'template_plugin', input('can_execute', '/var/tmp/gone'))).toEqual({
      ok: false,
      reason: '/var/tmp/gone does not exist',
    });
  } finally {
    await plugin.close();
  }
});
