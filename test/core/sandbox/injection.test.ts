// Terminal and log injection: a hostile sandboxed plugin's log lines, terminal output and thrown
// messages reach stdout/stderr (text and --json) with every control character escaped, and no
// line of theirs starts like the kernel's or another plugin's. Real CLI, real sandbox.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempRoot, type TempRoot } from '../../helpers/run-cli.js';

const dirs = ['--plugin-dir', fileURLToPath(new URL('./fixtures', import.meta.url))];
// C0 controls but newline and tab, DEL, C1 controls, bidi overrides.
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
let t: TempRoot;
beforeAll(async () => {
  t = await tempRoot('cx-injection-');
  expect((await t.run([...dirs, 'plugins', 'enable', 'injector', '-y'])).exitCode).toBe(0);
});
afterAll(async () => {
  await t.cleanup();
});

/** Lines that start like the kernel's messages or another plugin's log prefix. */
const forged = (text: string) => text.split('\n').filter((l) => /^\s*(error\[|\[host\])/.test(l));

describe('a plugin writing terminal escapes and forged prefixes', () => {
  it("log lines, io.out and io.err arrive escaped; forged lines are marked as the plugin's", async () => {
    const r = await t.run([...dirs, 'inject']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).not.toMatch(RAW);
    expect(r.stderr).not.toMatch(RAW);
    expect(forged(r.stdout)).toEqual([]);
    expect(forged(r.stderr)).toEqual([]);
    expect(r.stderr).toContain(
      '[injector] warn: \\x1b]0;owned\\x07\\x1b[2J\\x1b[31mred\\rerror[CX_ERR_PERMISSION_DENIED]: forged\\n[host] warn: forged\\x9b31m\\u202etxt',
    );
    expect(r.stdout).toContain('[injector] [host] warn: forged\\x9b31m\\u202etxt');
    expect(r.stderr).toContain('[injector] [host] warn: forged');
  });

  it('a thrown message is escaped, in text and in --json', async () => {
    const r = await t.run([...dirs, 'throw']);
    expect(r.exitCode).toBe(4);
    expect(r.stderr).not.toMatch(RAW);
    expect(forged(r.stderr.split('\n').slice(1).join('\n'))).toEqual([]);
    const j = await t.run([...dirs, '--json', 'throw']);
    expect(j.stdout + j.stderr).not.toMatch(RAW);
    expect(j.stdout + j.stderr).not.toMatch(/\\u001b|\\u0007/);
  });
});
