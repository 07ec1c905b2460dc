import { test, expect } from 'vitest';
import { startPlugin } from 'cx-ops/sdk/testing';

test('greets by name under the sandbox', async () => {
  const plugin = await startPlugin(new URL('..', import.meta.url));
  try {
    const out = await plugin.command('template-plugin', { args: { name: 'Ada' } });
    expect(out).toEqual({ exitCode: 0, stdout: 'Hello, Ada!\n', stderr: '' });
  } finally {
    await plugin.close();
  }
});
