import { test, expect } from 'vitest';
import { startPlugin } from 'cx-ops/sdk/testing';

test('runs under the sandbox', async () => {
  const plugin = await startPlugin(new URL('..', import.meta.url));
  try {
    const result = {
      check_id: 'x',
      name: 'x',
      status: 'FAIL',
      message: '',
      details: {},
      fix_id: 'template_plugin',
      duration_ms: 0,
    };
    expect(await plugin.invoke('fix', 'template_plugin', { result })).toMatchObject({
      ok: true,
      message: 'nothing to do for x',
    });
  } finally {
    await plugin.close();
  }
});
