import { afterAll, beforeAll, expect, test } from 'vitest';
import { startPlugin, type StartedPlugin } from 'cx-ops/sdk/testing';

let plugin: StartedPlugin;
beforeAll(async () => {
  plugin = await startPlugin(new URL('..', import.meta.url));
});
afterAll(async () => {
  await plugin?.close();
});

test('hello greets the given name, sandboxed', async () => {
  expect(await plugin.command('hello', { args: { name: 'Ada' } })).toEqual({
    exitCode: 0,
    stdout: 'Hello, Ada!\n',
    stderr: '',
  });
});

test('hello defaults to World', async () => {
  expect(await plugin.command('hello', { args: { name: null } })).toEqual({
    exitCode: 0,
    stdout: 'Hello, World!\n',
    stderr: '',
  });
});
