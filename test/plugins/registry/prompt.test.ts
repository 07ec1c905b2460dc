/**
 * The permission prompt at a real terminal (a pty made by util-linux `script`): answering no
 * installs nothing; answering yes installs and grants what was requested.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { builtSnapshot, makeHome, tempDir, type BuiltSnapshot, type Home } from './harness.js';

const SCRIPT = '/usr/bin/script';
let tmp: { dir: string; cleanup(): Promise<void> };
let build: BuiltSnapshot;
let user: Home;

beforeAll(async () => {
  build = await builtSnapshot();
  tmp = await tempDir('cx-prompt-');
  user = await makeHome(tmp.dir, 'user', build);
  const src = join(tmp.dir, 'reader');
  await mkdir(src);
  await writeFile(
    join(src, 'plugin.yaml'),
    'name: reader\nversion: 1.0.0\ndescription: Reads the host name\nplugin_type: command\nmain: index.js\ncx_version: "*"\npermissions:\n  read: [/etc/hostname]\n',
  );
  await writeFile(join(src, 'index.js'), "export default { name: 'reader', contributes: [] };\n");
  await mkdir(join(tmp.dir, 'registry'));
  expect((await user.run(['plugins', 'pack', src, '--out', join(tmp.dir, 'reader.tgz')])).exitCode).toBe(0);
  expect(
    (await user.run(['registry', 'publish', join(tmp.dir, 'registry'), join(tmp.dir, 'reader.tgz')])).exitCode,
  ).toBe(0);
  expect((await user.run(['registry', 'add', 'local', join(tmp.dir, 'registry')])).exitCode).toBe(0);
});
afterAll(async () => {
  await tmp?.cleanup();
  await build?.cleanup();
});

/** Runs `cx-ops plugins install reader` on a pty, typing `answer`. */
async function installAnswering(answer: string) {
  const argv = [
    process.execPath,
    build.launcher,
    '--config-dir',
    user.configDir,
    '--data-dir',
    user.dataDir,
    '--cache-dir',
    user.cacheDir,
    '--log-dir',
    join(user.dir, 'log'),
    'plugins',
    'install',
    'reader',
  ];
  const r = await execa(SCRIPT, ['-qec', argv.map((a) => `'${a}'`).join(' '), '/dev/null'], {
    input: `${answer}\n`,
    reject: false,
    timeout: 60_000,
    env: { HOME: join(user.dir, 'home'), PATH: process.env.PATH ?? '/usr/bin:/bin', TERM: 'dumb', NO_COLOR: '1' },
    extendEnv: false,
  });
  return { exitCode: r.exitCode, output: String(r.stdout).replace(/\r/g, '') };
}

test.skipIf(!existsSync(SCRIPT))(
  'no at the prompt installs nothing; yes installs with the requested grants',
  async () => {
    const no = await installAnswering('n');
    expect(no.output).toContain(
      "plugin 'reader' 1.0.0 from registry 'local' (sandboxed; signature: unsigned)\nIt requests these permissions:\n  - read:/etc/hostname\n",
    );
    expect(no.output).toContain('Install and grant these permissions? [y/N]');
    expect(no.output).toContain('not installed: reader 1.0.0 (permissions not granted)');
    expect(no.exitCode).toBe(1);
    expect(await readdir(user.installDir).catch(() => [])).toEqual([]);

    const yes = await installAnswering('y');
    expect(yes.output).toContain(
      'installed reader 1.0.0 from local: sandboxed, signature unsigned, grants: read:/etc/hostname',
    );
    expect(yes.exitCode).toBe(0);
    const info = JSON.parse((await user.run(['plugins', 'info', 'reader', '--json'])).stdout);
    expect(info).toMatchObject({
      enabled: true,
      tier: 'sandboxed',
      grants: ['read:/etc/hostname'],
      signature_status: 'unsigned',
    });
  },
);
