import { test, expect } from 'vitest';
import { startPlugin } from 'cx-ops/sdk/testing';

test('passes on a quiet host and warns on a busy one', async () => {
  const quiet = await startPlugin(new URL('..', import.meta.url), {
    grants: ['read:/proc/loadavg'],
    fakes: { fs: { readFile: async () => '0.50 0.40 0.30 1/100 42\n' } },
  });
  try {
    expect(await quiet.check('template_plugin')).toMatchObject({
      check_id: 'template_plugin',
      status: 'PASS',
      message: 'load is 0.5',
    });
  } finally {
    await quiet.close();
  }
  const busy = await startPlugin(new URL('..', import.meta.url), {
    grants: ['read:/proc/loadavg'],
    fakes: { fs: { readFile: async () => '9.00 8.00 7.00 1/100 42\n' } },
  });
  try {
    expect(await busy.check('template_plugin')).toMatchObject({ status: 'WARN', details: { load: 9 } });
  } finally {
    await busy.close();
  }
});
