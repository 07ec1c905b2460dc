/**
 * The command line's own behaviour: global options in any position, a closed stdout, commander's
 * errors from the catalogue, and headlines that say why a command is missing.
 */
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { LAUNCHER, tempRoot, type TempRoot } from '../../helpers/run-cli.js';

const good = fileURLToPath(new URL('./fixtures/good', import.meta.url));
let t: TempRoot;
beforeEach(async () => {
  t = await tempRoot('cx-usage-');
});
afterEach(async () => {
  await t.cleanup();
});

/** Runs the launcher with exactly these arguments (run-cli puts --root first). */
async function raw(args: string[]) {
  const r = await execa(process.execPath, ['--no-node-snapshot', LAUNCHER, ...args], {
    reject: false,
    env: { HOME: join(t.root, 'home'), NO_COLOR: '1', CX_PLUGIN_PATH: '' },
    extendEnv: false,
    timeout: 60_000,
  });
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

async function config(text: string): Promise<void> {
  await mkdir(join(t.root, 'etc/cx'), { recursive: true });
  await writeFile(join(t.root, 'etc/cx/config.yaml'), text);
}

const noTrace = /\n\s+at .*:\d+/;

describe('global options work before or after the command', () => {
  test.each([
    [['--verbose', '--root', 'R', 'plugins', 'list', '--json']],
    [['--root', 'R', '--verbose', 'plugins', 'list', '--json']],
    [['--no-color', '--root', 'R', 'plugins', 'list', '--json']],
    [['--root', 'R', 'plugins', 'list', '--json', '--no-color', '--verbose']],
    [['--root', 'R', 'plugins', '--verbose', 'list', '--json']],
  ])('%j', async (args) => {
    const r = await raw(args.map((a) => (a === 'R' ? t.root : a)));
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect((JSON.parse(r.stdout) as Array<{ name: string }>).map((p) => p.name)).toContain('doctor');
  });

  test('--verbose before the command is really on (a stack trace on error)', async () => {
    const r = await raw(['--verbose', '--root', t.root, 'plugins', 'grant', 'doctor', 'exec:nope *']);
    expect(r.stderr).not.toContain("unknown option '--verbose'");
    expect(r.stderr).toMatch(/^error\[CX_ERR_[A-Z_]+\]: /);
    expect(r.stderr).toMatch(noTrace);
  });
});

test('a reader that closes the pipe early ends the command quietly, with its own exit code', async () => {
  // `true` exits at once, so every write of doctor's report meets a closed pipe.
  const sh = `"${process.execPath}" --no-node-snapshot "${LAUNCHER}" --root "${t.root}" doctor | true; echo "exit=\${PIPESTATUS[0]}" >&2`;
  const r = await execa('bash', ['-c', sh], {
    reject: false,
    env: { HOME: join(t.root, 'home'), NO_COLOR: '1', CX_PLUGIN_PATH: '', PATH: process.env.PATH ?? '/usr/bin:/bin' },
    extendEnv: false,
  });
  expect(r.stderr).toBe('exit=0');
});

describe("commander's errors come from the catalogue", () => {
  test.each([
    [['plugins', 'list', '--bogus'], "error[CX_ERR_USAGE]: unknown option '--bogus'\nTry: CX plugins list --help"],
    [['--bogus'], "error[CX_ERR_USAGE]: unknown option '--bogus'\nTry: cx-ops --help"],
    [['plugins', 'info'], "error[CX_ERR_USAGE]: missing required argument 'name'\nTry: CX plugins info --help"],
    [
      ['plugins', 'info', 'a', 'b'],
      "error[CX_ERR_USAGE]: too many arguments for 'info'. Expected 1 argument but got 2.\nTry: CX plugins info --help",
    ],
    [['nope'], "error[CX_ERR_USAGE]: unknown command 'nope'\nTry: cx-ops --help"],
    [['help', 'nope'], "error[CX_ERR_USAGE]: unknown command 'nope'\nTry: cx-ops --help"],
    [['help', 'doctr'], "error[CX_ERR_USAGE]: unknown command 'doctr'\n(Did you mean doctor?)\nTry: cx-ops --help"],
    [['help', 'plugins', 'nope'], "error[CX_ERR_USAGE]: unknown command 'nope'\nTry: CX plugins --help"],
    [['plugins', 'nope'], "error[CX_ERR_USAGE]: unknown command 'nope'\nTry: CX plugins --help"],
  ])('%j', async (args, expected) => {
    const r = await t.run(args);
    // CX: cx-ops with this run's --root, as the hints repeat it.
    expect(r).toMatchObject({ exitCode: 2, stdout: '', stderr: expected.replaceAll('CX ', `${t.cx} `) });
  });

  test("help NAME... shows that command's help", async () => {
    const r = await t.run(['help', 'plugins', 'list']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^Usage: cx-ops plugins list \[options\]/);
  });

  test('a group given no command shows its commands and says what is missing', async () => {
    const r = await t.run(['plugins']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^Usage: cx-ops plugins/);
    expect(r.stderr).toMatch(
      new RegExp(`\nerror\\[CX_ERR_USAGE\\]: ${t.cx} plugins needs a command; the commands are listed above\\.$`),
    );
  });
});

describe('why a command is not available', () => {
  test('its plugin failed to load: the headline is the real error', async () => {
    await config('doctor: {timeout_seconds: "abc"}\n');
    const r = await t.run(['doctor']);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe('');
    const file = join(t.root, 'etc/cx/config.yaml');
    expect(r.stderr).toBe(
      `error[CX_ERR_CONFIG_INVALID]: 'doctor' is not available: plugin 'doctor' failed to load:\n${file}:1: 'doctor.timeout_seconds' must be of type number (found: "abc")\nFix that value in ${file}; the schema is in plugin 'doctor''s plugin.yaml (config_schema).`,
    );
  });

  test('its plugin is disabled: the headline says how to enable it', async () => {
    expect((await t.run(['doctor', '--list'])).exitCode).toBe(0);
    expect((await t.run(['plugins', 'disable', 'doctor'])).exitCode).toBe(0);
    expect(await t.run(['doctor'])).toMatchObject({
      exitCode: 2,
      stderr: `error[CX_ERR_PLUGIN_DISABLED]: 'doctor' is not available: plugin 'doctor' is disabled.\nEnable it with: ${t.cx} plugins enable doctor`,
    });
    expect((await t.run(['plugins', 'disable', 'updates'])).exitCode).toBe(0);
    // 'update' is not a plugin's name: the shape cache of the last run that loaded it knows.
    expect((await t.run(['update', 'check'])).stderr).toBe(
      `error[CX_ERR_PLUGIN_DISABLED]: 'update' is not available: plugin 'updates' is disabled.\nEnable it with: ${t.cx} plugins enable updates`,
    );
    // apt's updater waits quietly for the kind the disabled 'updates' plugin declares.
    expect(await t.run(['repair', 'apt', '--help'])).toMatchObject({ exitCode: 0, stderr: '' });
  });

  test('an unknown command names the plugins that are not loaded as candidates', async () => {
    const r = await t.run(['--plugin-dir', good, 'greet']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(
      `error[CX_ERR_USAGE]: unknown command 'greet'\nIt may come from a plugin that is not loaded: greeter (disabled), stamper (disabled).\nTry: ${t.cx} --plugin-dir ${good} plugins list   (then: ${t.cx} --plugin-dir ${good} plugins enable NAME)`,
    );
  });
});

describe('config.yaml errors', () => {
  test('every schema error of a section is reported, each with its line', async () => {
    await config('doctor:\n  timeout_seconds: abc\n  max_parallel: 0\n  bogus: 1\n');
    const r = await t.run(['plugins', 'info', 'doctor']);
    const file = join(t.root, 'etc/cx/config.yaml');
    expect(r.exitCode).toBe(2); // a reported configuration error: bad input
    expect(r.stdout).toMatch(/^status\s+failed$/m);
    expect(r.stdout).toContain(
      `error                 error[CX_ERR_CONFIG_INVALID]: ${file}:4: 'doctor.bogus' is not allowed here (unknown field) (found: 1)\n` +
        `                      ${file}:2: 'doctor.timeout_seconds' must be of type number (found: "abc")\n` +
        `                      ${file}:3: 'doctor.max_parallel' must be >= 1 (found: 0)\n` +
        `                      Fix these values in ${file}; the schema is in plugin 'doctor''s plugin.yaml (config_schema).\n`,
    );
    const json = JSON.parse((await t.run(['plugins', 'info', 'doctor', '--json'])).stdout);
    expect(json.error).toMatchObject({ code: 'CX_ERR_CONFIG_INVALID', plugin: 'doctor' });
  });

  test.each([
    ['a list', '- a\n- b\n', 'a list'],
    ['binary junk', 'ELF\u0002\u0001\u0001\u0000\u0000\u0003\u0000>\n', 'binary data, not YAML text'],
  ])('a top level that is %s names the config file and its shape, not a plugin', async (_, text, what) => {
    await config(text);
    const file = join(t.root, 'etc/cx/config.yaml');
    expect(await t.run(['doctor'])).toMatchObject({
      exitCode: 2,
      stderr: `error[CX_ERR_CONFIG_INVALID]: ${file}: '(root)' must be a mapping of sections, but it is ${what}\nFix ${file}; its top level is a mapping of sections: 'plugins' and 'audit' (schemas/config.schema.json) and one per plugin, named by its config_key.`,
    });
  });

  test('a YAML syntax error does not break --help or --version: it is a warning there', async () => {
    await config('doctor: [\n');
    const help = await t.run(['--help']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toMatch(/^Usage: cx-ops/);
    expect(help.stdout).toContain('  doctor');
    expect(help.stderr).toMatch(
      /^warning: .*config\.yaml is ignored here \(every setting at its default\): error\[CX_ERR_YAML_SYNTAX\]: .*config\.yaml:2:/,
    );
    const version = await t.run(['--version']);
    expect(version).toMatchObject({ exitCode: 0, stdout: '0.1.0' });
    expect(version.stderr).toContain('CX_ERR_YAML_SYNTAX');
    // Any other command still stops on it.
    expect((await t.run(['doctor'])).stderr).toMatch(/^error\[CX_ERR_YAML_SYNTAX\]: /);
  });
});

describe('the root', () => {
  test('a --root that does not exist is an error, and nothing is created there', async () => {
    const missing = join(t.root, 'typo');
    const r = await raw(['--root', missing, 'doctor']);
    expect(r).toMatchObject({ exitCode: 2, stdout: '' });
    expect(r.stderr).toBe(
      `error[CX_ERR_USAGE]: --root '${missing}' does not exist (resolved: ${missing}).\nTry: check the path, or create the directory first: mkdir -p ${missing}`,
    );
    expect(existsSync(missing)).toBe(false);
    const json = await raw(['--root', missing, 'doctor', '--json']);
    expect(JSON.parse(json.stdout).error).toMatchObject({ code: 'CX_ERR_USAGE', exit: 2 });
  });

  test('so is a CX_ROOT that is a file', async () => {
    const file = join(t.root, 'a-file');
    await writeFile(file, '');
    const r = await execa(process.execPath, ['--no-node-snapshot', LAUNCHER, 'doctor'], {
      reject: false,
      env: { HOME: join(t.root, 'home'), NO_COLOR: '1', CX_PLUGIN_PATH: '', CX_ROOT: file },
      extendEnv: false,
    });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`CX_ROOT '${file}' is not a directory`);
  });

  test('--help and --version write nothing: no cache, no log, no directory', async () => {
    const root = join(t.root, 'host');
    await mkdir(root);
    for (const args of [['--help'], ['doctor', '--help'], ['--version'], ['help', 'doctor'], []]) {
      const r = await raw(['--root', root, ...args]);
      // No command at all prints the help too, as a usage error.
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(args.length ? 0 : 2);
      expect(await readdir(root), args.join(' ')).toEqual([]);
    }
    // The same root is written to by a command that runs (the caches exist for speed).
    expect((await raw(['--root', root, 'doctor', '--list'])).exitCode).toBe(0);
    expect(await readdir(root)).toEqual(['var']);
  });
});

describe('hints that are safe to copy', () => {
  test('after a --root run, every cx-ops command in an error and its hint keeps --root (text and JSON)', async () => {
    const cfg = join(t.root, 'my config');
    await mkdir(cfg);
    const text = await raw(['--root', t.root, '--config-dir', cfg, 'update', 'rollback', '-y']);
    expect(text.exitCode).toBe(2);
    const prefix = `cx-ops --root ${t.root} --config-dir '${cfg}'`;
    expect(text.stderr).toContain(`\`${prefix} update apply\` takes one first`);
    expect(text.stderr).toContain(`Try: ${prefix} update apply --packages`);
    expect(text.stderr).not.toMatch(/(^|[^`'\w-])cx-ops update/m);
    const json = JSON.parse((await raw(['--root', t.root, 'update', 'rollback', '--json'])).stdout);
    expect(json.error.hint).toBe(`cx-ops --root ${t.root} update apply --packages   (takes a snapshot, then updates)`);
    // A version number after cx-ops is not a command: left alone.
    const plain = await raw(['update', 'rollback', '--json', '--root', t.root]);
    expect(JSON.parse(plain.stdout).error.message).toContain(`cx-ops --root ${t.root} update apply`);
  });

  test("output hints too: a repair names its undo command with the run's options", async () => {
    await mkdir(join(t.root, 'var/lib/cx'), { recursive: true });
    await chmod(join(t.root, 'var/lib/cx'), 0o777);
    const r = await raw(['--root', t.root, 'repair', 'permissions', '--cx', '-y']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`undo with: cx-ops --root ${t.root} repair permissions --undo \\d{8}-`));
    expect(r.stderr).toContain(`(undoable with: cx-ops --root ${t.root} repair permissions --undo)`);
  });
});

describe('nothing to do is said, not silent', () => {
  test('plugins update with nothing installed from a registry says so (text and JSON)', async () => {
    const r = await t.run(['plugins', 'update']);
    expect(r).toMatchObject({ exitCode: 0, stderr: '' });
    expect(r.stdout).toBe(
      `No plugins installed from a registry (${join(t.root, 'var/lib/cx/plugins.lock.json')} lists none): nothing to update.\nInstall one with: ${t.cx} plugins install NAME`,
    );
    expect(JSON.parse((await t.run(['plugins', 'update', '--json'])).stdout)).toEqual({ updated: [], current: [] });
  });
});

describe('an unprivileged user (an NRPE agent)', () => {
  const canSwitch = process.getuid?.() === 0 && existsSync('/usr/sbin/runuser');
  /** A root-only /var/lib/cx, /var/log/cx and /var/cache/cx under the temp root. */
  async function rootOnlyDirs(): Promise<void> {
    await chmod(t.root, 0o755);
    for (const d of ['var/lib/cx', 'var/log/cx', 'var/cache/cx'])
      await mkdir(join(t.root, d), { recursive: true, mode: 0o700 });
    await writeFile(join(t.root, 'var/lib/cx/state.json'), '{"version":1,"plugins":{}}\n');
  }
  /** cx-ops run as nobody with this HOME (runuser sets nobody's own, /nonexistent: env sets it after). */
  const asNobody = (home: string, args: string[]) =>
    execa(
      '/usr/sbin/runuser',
      [
        '-u',
        'nobody',
        '--',
        'env',
        `HOME=${home}`,
        process.execPath,
        '--no-node-snapshot',
        LAUNCHER,
        '--root',
        t.root,
        ...args,
      ],
      {
        reject: false,
        env: { NO_COLOR: '1', CX_PLUGIN_PATH: '', PATH: process.env.PATH ?? '/usr/bin:/bin' },
        extendEnv: false,
      },
    );
  test.skipIf(!canSwitch)(
    'a root-only state file: read-only commands run at the defaults with a one-line note',
    async () => {
      await rootOnlyDirs();
      const home = '/nonexistent';
      const note = `note: ${join(t.root, 'var/lib/cx/state.json')} is not readable by this user (uid 65534): the plugins are at their defaults`;
      const version = await asNobody(home, ['--version']);
      expect(version).toMatchObject({ exitCode: 0, stdout: '0.1.0' });
      expect(version.stderr).toContain(note);
      const doctor = await asNobody(home, ['doctor', '--check', 'disk_space', '--json']);
      expect(doctor.exitCode, doctor.stderr).toBe(0);
      expect(JSON.parse(doctor.stdout).results.map((r: { check_id: string }) => r.check_id)).toEqual(['disk_space']);
      expect(doctor.stderr).toContain(note);
      expect(doctor.stderr).not.toContain('CX_ERR_IO');
      expect(doctor.stderr).toContain(
        `note: ${join(t.root, 'var/log/cx')} is not writable by this user (uid 65534) and there is no home directory to keep an audit log in`,
      );
    },
  );
  test.skipIf(!canSwitch)(
    "with a home: the audit log and caches go to the user's own directories; a change says it needs root",
    async () => {
      await rootOnlyDirs();
      const home = join(t.root, 'nobody-home');
      await mkdir(home);
      await chown(home, 65534, 65534);
      const doctor = await asNobody(home, ['doctor', '--check', 'disk_space']);
      expect(doctor.exitCode, doctor.stderr).toBe(0);
      expect(doctor.stderr, doctor.stderr).not.toContain('not audited');
      const audit = await readFile(join(home, '.local/state/cx-ops/log/audit.jsonl'), 'utf8');
      expect(audit).toContain('"plugin":"checks-system"');
      expect(existsSync(join(home, '.cache/cx-ops/shapes.json'))).toBe(true);
      expect(await readdir(join(t.root, 'var/log/cx'))).toEqual([]);

      const disable = await asNobody(home, ['plugins', 'disable', 'nagios']);
      expect(disable.exitCode).toBe(2);
      expect(disable.stderr).toMatch(
        new RegExp(
          `error\\[CX_ERR_IO\\]: ${join(t.root, 'var/lib/cx')}\\S*: \\w+ failed: EACCES \\(permission denied\\): this user \\(uid 65534\\) may not change it, so this command needs root\\nTry: sudo cx-ops --root ${t.root} plugins disable nagios$`,
        ),
      );
      expect(disable.stderr).not.toMatch(noTrace);
      const json = await asNobody(home, ['plugins', 'disable', 'nagios', '--json']);
      expect(JSON.parse(json.stdout).error).toMatchObject({
        code: 'CX_ERR_IO',
        hint: `sudo cx-ops --root ${t.root} plugins disable nagios --json`,
      });
    },
  );
});

describe('plugin directories', () => {
  test('a command of a plugin enabled from a --plugin-dir not given this run names the plugin and the flag', async () => {
    expect((await t.run(['--plugin-dir', good, 'plugins', 'enable', 'greeter', '-y'])).exitCode).toBe(0);
    const byName = await t.run(['greeter']);
    expect(byName).toMatchObject({ exitCode: 2 });
    expect(byName.stderr).toBe(
      `error[CX_ERR_USAGE]: 'greeter' is not available: plugin 'greeter' is enabled, but it is not in any plugin directory of this run.\nTry: give the directory it was enabled from: ${t.cx} --plugin-dir DIR greeter   (or set CX_PLUGIN_PATH=DIR)`,
    );
    const other = await t.run(['greet']);
    expect(other.stderr).toContain(
      'It may come from a plugin that is enabled but not in any plugin directory of this run: greeter.',
    );
    expect(other.stderr).not.toContain('Did you mean');
  });
  test('--plugin-dir naming no directory is an error naming the flag and the path', async () => {
    const missing = join(t.root, 'no-such-dir');
    expect(await t.run(['--plugin-dir', missing, 'plugins', 'list'])).toMatchObject({
      exitCode: 2,
      stdout: '',
      stderr: `error[CX_ERR_USAGE]: --plugin-dir '${missing}' does not exist (resolved: ${missing}).\nTry: give --plugin-dir a directory that holds a plugin (its plugin.yaml) or plugin directories`,
    });
  });

  test('so is a CX_PLUGIN_PATH entry that is a file', async () => {
    const file = join(t.root, 'a-file');
    await writeFile(file, '');
    const r = await t.run(['plugins', 'list'], { env: { CX_PLUGIN_PATH: `${good}:${file}` } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(
      `error[CX_ERR_USAGE]: CX_PLUGIN_PATH '${file}' is not a directory (resolved: ${file}).\nTry: fix or remove that entry of CX_PLUGIN_PATH (colon-separated directories)`,
    );
  });
});

test('plugin status reads the same in the text list, --json and --available', async () => {
  const dirs = ['--plugin-dir', good];
  expect((await t.run([...dirs, 'plugins', 'enable', 'greeter', '-y'])).exitCode).toBe(0);
  const statuses = (rows: Array<{ name: string; status: string }>) =>
    Object.fromEntries(rows.map((r) => [r.name, r.status]));
  const json = statuses(JSON.parse((await t.run([...dirs, 'plugins', 'list', '--json'])).stdout));
  const available = statuses(
    JSON.parse((await t.run([...dirs, 'plugins', 'list', '--available', '--json'])).stdout).installed,
  );
  const text = Object.fromEntries(
    (await t.run([...dirs, 'plugins', 'list'])).stdout
      .split('\n')
      .slice(1)
      .map((l) => l.split(/\s+/))
      .map((w) => [w[0], w[3]]),
  );
  expect(json).toMatchObject({ doctor: 'enabled', greeter: 'enabled', stamper: 'disabled' });
  expect(available).toEqual(json);
  expect(text).toEqual(json);
  expect((await t.run(['plugins', 'list', '--help'])).stdout).toMatch(
    /STATUS is one of:\n {2}enabled .*\n {2}disabled .*\n {2}failed /,
  );
});

test('-y is listed only by commands that ask before changing the system; every command accepts it', async () => {
  const listed = async (args: string[]) => (await t.run([...args, '--help'])).stdout.includes('-y, --yes');
  expect(await listed(['plugins', 'list'])).toBe(false);
  expect(await listed(['history'])).toBe(false);
  expect(await listed(['repair', 'apt'])).toBe(true);
  expect(await listed(['plugins', 'enable'])).toBe(true);
  expect((await t.run(['plugins', 'list', '-y', '--json'])).exitCode).toBe(0);
});
