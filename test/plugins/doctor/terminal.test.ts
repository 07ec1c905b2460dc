// The terminal report on a real pseudo-terminal (util-linux `script`): colours and the live
// progress line only on a TTY, and no colours with NO_COLOR.
import { execa } from 'execa';
import { afterEach, expect, test } from 'vitest';
import { LAUNCHER } from '../../helpers/run-cli.js';
import { doctorHost, type DoctorHost } from '../../helpers/doctor-host.js';

let h: DoctorHost | undefined;
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
});

async function onTty(root: string, env: Record<string, string> = {}): Promise<string> {
  const cmd = `${process.execPath} --no-node-snapshot ${LAUNCHER} --root ${root} doctor --check memory --check zombie_processes`;
  const r = await execa('script', ['-qec', cmd, '/dev/null'], {
    reject: false,
    env: { HOME: root, TERM: 'xterm', ...env },
    extendEnv: false,
    timeout: 60_000,
  });
  return r.stdout;
}

test('on a terminal: a progress line and status colours; NO_COLOR turns colours off but keeps the progress line', async () => {
  h = await doctorHost('stressed');
  const tty = await onTty(h.root);
  expect(tty).toMatch(/\r\x1b\[K\[0\/2\] running /);
  expect(tty).toContain('\r\x1b[K[2/2] done');
  expect(tty).toContain('\x1b[1;31m[FAIL] \x1b[0m Memory');
  expect(tty).toContain('\x1b[1;33m[WARN] \x1b[0m Zombie Processes');
  const plain = await onTty(h.root, { NO_COLOR: '1' });
  expect(plain).toContain('[2/2] done');
  expect(plain).toContain('  [FAIL]  Memory ');
  expect(plain.replace(/\r\x1b\[K/g, '')).not.toMatch(/\x1b\[/);
  // Not a terminal (the other tests): neither progress nor colours.
  const piped = await h.run(['doctor', '--check', 'memory'], { env: { NO_COLOR: '' } });
  expect(piped.stdout + piped.stderr).not.toMatch(/\x1b\[|\[\d+\/\d+\]/);
});
