import { expect, test } from 'vitest';

test('test workers run with --no-node-snapshot (isolated-vm on Node 20 needs it)', () => {
  expect(process.execArgv).toContain('--no-node-snapshot');
});
