/**
 * `cx-ops automation` on a temp root, without a daemon: bad config reported with its lines, the
 * built-in tasks on temp trees (a backup restored byte-identical, retention, a path it cannot
 * back up reported; a cleanup that lists what it would free and never leaves its tree, even
 * through planted symlinks), a DAG run, the commands' text and --json, and a kill -9 mid-task
 * recorded as Interrupted.
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LAUNCHER, tempRoot, type TempRoot } from '../../helpers/run-cli.js';

let t: TempRoot;
const at = (p: string) => join(t.root, p);
const put = async (p: string, data: string | Uint8Array, ageDays = 0) => {
  await mkdir(join(at(p), '..'), { recursive: true });
  await writeFile(at(p), data);
  if (ageDays) {
    const then = new Date(Date.now() - ageDays * 86_400_000);
    await utimes(at(p), then, then);
  }
};
const json = async (args: string[]) => {
  const r = await t.run([...args, '--json']);
  return { code: r.exitCode, body: JSON.parse(r.stdout), stderr: r.stderr };
};

const CONFIG = `automation:
  timezone: Europe/Berlin
  host: test-host
  retry_failed_tasks: false
  tasks:
    - id: daily-backup
      type: config-backup
      schedule: daily:02:00
      randomized_delay: 30m
      config: { paths: [/etc/app, /etc/missing, /etc/fifo], destination: /var/backups/cx, keep_daily: 2, retention_days: 0 }
    - id: cleanup
      type: system-cleanup
      schedule: weekly:sunday:03:00
      config:
        cleanup_types: [package_cache, temp_files, log_files, broken_symlinks, empty_directories]
        protected_paths: [/tmp/keep]
    - id: final-report
      type: command
      schedule: "0 4 * * *"
      prerequisites: [daily-backup, cleanup]
      config: { command: [sh, -c, 'echo report done'] }
    - id: failing
      type: command
      schedule: manual
      config: { command: [sh, -c, 'echo oops >&2; exit 3'] }
    - id: zstd-backup
      type: config-backup
      schedule: manual
      config: { paths: [/etc/app], destination: /var/backups/zst, compression: zstd }
    - id: slow
      type: command
      schedule: manual
      config: { command: [sh, -c, 'echo $$ > "$0"/slow.pid; exec sleep 30', ROOT] }
`;

beforeAll(async () => {
  t = await tempRoot('cx-automation-');
  await put('etc/cx/config.yaml', CONFIG.replace('ROOT', t.root));
  await put('etc/app/a.conf', 'listen 80;\n');
  await put('etc/app/sub/b.conf', 'b\n');
  await put('etc/app/bin.dat', randomBytes(100_000));
  await symlink('a.conf', at('etc/app/link'));
  await execa('mkfifo', [at('etc/fifo')]);
  for (const old of ['config-backup-20250101-020000', 'config-backup-20250102-020000', 'config-backup-20250102-030000'])
    await put(`var/backups/cx/${old}/manifest.json`, '{}');
  // The cleanup's trees, and what it must never touch.
  await put('var/cache/apt/archives/pkg.deb', 'x'.repeat(1000));
  await put('var/cache/apt/archives/partial/other.deb', 'x'.repeat(200));
  await put('tmp/old.txt', 'x'.repeat(500), 10);
  await put('tmp/new.txt', 'fresh');
  await put('tmp/keep/old-protected.txt', 'x', 30);
  await put('tmp/olddir/old2.txt', 'x'.repeat(50), 10);
  await mkdir(at('tmp/emptydir'));
  await put('outside/victim.txt', 'must stay', 30);
  await put('outside/sub/deep.txt', 'must stay', 30);
  // Links that lead out of /tmp (in the host's view), and one to the disk path beyond the root.
  await symlink('../outside', at('tmp/evil-dir'));
  await symlink('../outside/victim.txt', at('tmp/evil-file'));
  await symlink(at('outside'), at('tmp/escape'));
  await symlink('/nonexistent-cx-target', at('tmp/broken'));
  await put('var/log/syslog', 'live');
  await put('var/log/syslog.1', 'x'.repeat(30));
  await put('var/log/syslog.2.gz', 'x'.repeat(20));
  await put('var/log/app.log-20250101', 'x'.repeat(10));
});
afterAll(() => t.cleanup());

describe('automation config', () => {
  test('every problem at once, each at its config.yaml line: croner, unknown type, prerequisite, cycle, missing condition path', async () => {
    const good = await readFile(at('etc/cx/config.yaml'), 'utf8');
    await writeFile(
      at('etc/cx/config.yaml'),
      `automation:
  tasks:
    - id: a
      type: comand
      schedule: "61 * * * *"
      prerequisites: [b, zz]
    - id: b
      type: command
      schedule: condition:disk_usage:/nope:90
      prerequisites: [c]
      config: { command: [echo] }
    - id: c
      type: command
      schedule: every:1h
      prerequisites: [b]
      config: { command: [echo], bogus: 1 }
`,
    );
    try {
      const r = await json(['automation', 'list']);
      expect(r.code).toBe(2);
      const file = at('etc/cx/config.yaml');
      expect(r.body.error).toEqual({
        code: 'CX_ERR_CONFIG_INVALID',
        exit: 2,
        plugin: 'automation',
        contribution: 'automation list',
        docs: 'docs/errors.md#cx_err_config_invalid',
        message: [
          `${file}:4: 'automation.tasks[0].type' task 'a': unknown task type 'comand' (known: config-backup, system-cleanup, system-update, command)`,
          `${file}:5: 'automation.tasks[0].schedule' task 'a': invalid schedule: CronPattern: Invalid value for minute: 61`,
          `${file}:6: 'automation.tasks[0].prerequisites' task 'a': prerequisite 'zz' is no configured task (configured: a, b, c)`,
          `${file}:16: 'automation.tasks[2].config.bogus' task 'c': config.bogus is not allowed here (unknown field)`,
          `${file}:10: 'automation.tasks[1].prerequisites' the prerequisites form a cycle: b -> c -> b`,
          `${file}:9: 'automation.tasks[1].schedule' task 'b': the condition measures /nope, which does not exist (${at('nope')})`,
          `Fix these values in ${file}; the schema is in plugin 'automation''s plugin.yaml (config_schema).`,
        ].join('\n'),
      });
    } finally {
      await writeFile(at('etc/cx/config.yaml'), good);
    }
    const unknown = await json(['automation', 'status', 'daily-bakup']);
    expect(unknown.body.error).toMatchObject({ code: 'CX_ERR_TASK_UNKNOWN', exit: 2, suggestions: ['daily-backup'] });
  });
});

describe("the seed's configuration", () => {
  test('loads as the seed writes it: its task types, its switches as tasks, its schedules', async () => {
    const good = await readFile(at('etc/cx/config.yaml'), 'utf8');
    await writeFile(
      at('etc/cx/config.yaml'),
      `automation:
  enabled: true
  max_concurrent_tasks: 3
  task_timeout: 1h
  retry_failed_tasks: true
  max_retries: 3
  scheduling: { check_interval: 1m, max_queued_tasks: 100, priority_scheduling: true }
  backup: { enabled: true, default_retention_days: 30, compression: gzip, backup_location: /var/backups/tuxpilot }
  updates: { auto_security_updates: true, auto_reboot: false, backup_before_update: true, update_window: '02:00-04:00' }
  maintenance: { auto_cleanup: true, cleanup_schedule: weekly, cleanup_types: [package_cache, temp_files, log_files] }
  tasks:
    - id: daily-backup
      type: backup
      schedule: daily:02:00
      enabled: true
      config: { paths: [/etc, /home, ~/.config/tuxpilot], destination: /var/backups, compression: gzip, retention_days: 7 }
    - id: weekly-updates
      type: update
      schedule: weekly:sunday:03:00
      enabled: true
      config: { update_type: security, auto_reboot: false, backup_before_update: true }
    - id: emergency-cleanup
      type: maintenance
      schedule: condition:disk_usage:/var:90
      enabled: true
      config: { cleanup_types: [package_cache, temp_files, log_files], aggressive_cleanup: true }
`,
    );
    try {
      const r = await json(['automation', 'list']);
      expect(r.code).toBe(0);
      expect(
        r.body.tasks.map((x: { id: string; type: string; schedule: string }) => [x.id, x.type, x.schedule]),
      ).toEqual([
        ['daily-backup', 'config-backup', 'daily:02:00'],
        ['weekly-updates', 'system-update', 'weekly:sunday:03:00'],
        ['emergency-cleanup', 'system-cleanup', 'condition:disk_usage:/var:90'],
        ['security-updates', 'system-update', 'daily:02:00'],
        ['auto-cleanup', 'system-cleanup', 'weekly'],
      ]);
    } finally {
      await writeFile(at('etc/cx/config.yaml'), good);
    }
  });
});

describe('built-in tasks on a temp tree', () => {
  test('config-backup: gzip + sha256 manifest, retention, unreadable paths reported; restore is byte-identical', async () => {
    const r = await json(['automation', 'run', 'daily-backup']);
    expect(r.code).toBe(0);
    const [e] = r.body.executions;
    expect(e).toMatchObject({
      task_id: 'daily-backup',
      status: 'Success',
      trigger: { type: 'Manual' },
      resources_used: { files_backed_up: 3 },
    });
    const dir: string = e.details.backup;
    expect(e.output).toContain(
      'not backed up (unreadable): /etc/missing (does not exist); /etc/fifo (not a regular file',
    );
    expect(e.details.pruned).toEqual(['config-backup-20250101-020000', 'config-backup-20250102-020000']);
    const manifest = JSON.parse(await readFile(at(`${dir}/manifest.json`), 'utf8'));
    const sha = (await import('node:crypto'))
      .createHash('sha256')
      .update(await readFile(at('etc/app/bin.dat')))
      .digest('hex');
    expect(manifest.files.find((f: { path: string }) => f.path === '/etc/app/bin.dat')).toMatchObject({
      type: 'file',
      size: 100_000,
      sha256: sha,
    });
    expect(manifest.files.find((f: { path: string }) => f.path === '/etc/app/link')).toMatchObject({
      type: 'symlink',
      target: 'a.conf',
    });
    const before = { a: await readFile(at('etc/app/a.conf')), bin: await readFile(at('etc/app/bin.dat')) };
    await writeFile(at('etc/app/a.conf'), 'tampered');
    await rm(at('etc/app/bin.dat'));
    await rm(at('etc/app/link'));
    await symlink('elsewhere', at('etc/app/link'));
    const dry = await t.run(['automation', 'restore', at(dir), '--dry-run']);
    expect(dry.stdout).toContain('would restore 4 path(s)');
    expect(await readFile(at('etc/app/a.conf'), 'utf8')).toBe('tampered');
    const back = await json(['automation', 'restore', at(dir)]);
    expect(back.code).toBe(0);
    expect(back.body.restored.sort()).toEqual(
      ['/etc/app/a.conf', '/etc/app/bin.dat', '/etc/app/link', '/etc/app/sub/b.conf'].sort(),
    );
    expect(await readFile(at('etc/app/a.conf'))).toEqual(before.a);
    expect(await readFile(at('etc/app/bin.dat'))).toEqual(before.bin);
    expect(await readlink(at('etc/app/link'))).toBe('a.conf');
  });

  test('config-backup with zstd (the zstd program): real zstd frames, restore byte-identical; a damaged manifest is refused before anything is written', async () => {
    const r = await json(['automation', 'run', 'zstd-backup']);
    expect([r.code, r.body.executions[0].status], r.stderr).toEqual([0, 'Success']);
    const dir: string = r.body.executions[0].details.backup;
    const manifest = JSON.parse(await readFile(at(`${dir}/manifest.json`), 'utf8'));
    expect(manifest.compression).toBe('zstd');
    const bin = manifest.files.find((f: { path: string }) => f.path === '/etc/app/bin.dat');
    expect(bin.stored).toMatch(/^files\/\d+\.zst$/);
    // zstd's frame magic number, and nothing else left beside the frames (--rm took the copies).
    expect([...(await readFile(at(`${dir}/${bin.stored}`))).subarray(0, 4)]).toEqual([0x28, 0xb5, 0x2f, 0xfd]);
    expect((await readdir(at(`${dir}/files`))).every((n) => n.endsWith('.zst'))).toBe(true);
    const before = await readFile(at('etc/app/bin.dat'));
    await writeFile(at('etc/app/bin.dat'), 'tampered');
    const back = await json(['automation', 'restore', at(dir), '--only', '/etc/app/bin.dat']);
    expect([back.code, back.body.restored], back.stderr).toEqual([0, ['/etc/app/bin.dat']]);
    expect(await readFile(at('etc/app/bin.dat'))).toEqual(before);
    expect(await readdir(at(`${dir}/files`))).not.toContainEqual(expect.stringMatching(/tmp$/));

    await writeFile(at('etc/app/bin.dat'), 'tampered again');
    const text = await readFile(at(`${dir}/manifest.json`), 'utf8');
    await writeFile(
      at(`${dir}/manifest.json`),
      text.replace(`"stored": "${bin.stored}"`, '"stored": "../../../etc/shadow"'),
    );
    const bad = await t.run(['automation', 'restore', at(dir)]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain(`error[CX_ERR_STATE_INVALID]: ${at(dir)}/manifest.json: field 'files[`);
    expect(await readFile(at('etc/app/bin.dat'), 'utf8')).toBe('tampered again');
    await writeFile(at('etc/app/bin.dat'), before);
  });

  test('system-cleanup: the dry run lists each item and its bytes; the run never leaves its trees, even through planted symlinks', async () => {
    const dry = await json(['automation', 'run', 'cleanup', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.body.executions[0].details).toEqual({
      bytes: 1810,
      items: [
        { path: '/var/cache/apt/archives/partial/other.deb', kind: 'package_cache', bytes: 200 },
        { path: '/var/cache/apt/archives/pkg.deb', kind: 'package_cache', bytes: 1000 },
        { path: '/tmp/old.txt', kind: 'temp_files', bytes: 500 },
        { path: '/tmp/olddir/old2.txt', kind: 'temp_files', bytes: 50 },
        { path: '/var/log/app.log-20250101', kind: 'log_files', bytes: 10 },
        { path: '/var/log/syslog.1', kind: 'log_files', bytes: 30 },
        { path: '/var/log/syslog.2.gz', kind: 'log_files', bytes: 20 },
        { path: '/tmp/broken', kind: 'broken_symlinks', bytes: 0 },
        { path: '/tmp/escape', kind: 'broken_symlinks', bytes: 0 }, // its target is no host path under --root
        { path: '/tmp/emptydir', kind: 'empty_directories', bytes: 0 },
        { path: '/tmp/olddir', kind: 'empty_directories', bytes: 0 },
      ],
    });
    expect(await stat(at('tmp/old.txt'))).toBeTruthy();
    const run = await json(['automation', 'run', 'cleanup']);
    expect(run.body.executions[0]).toMatchObject({ status: 'Success', resources_used: { disk_space_freed: 1810 } });
    expect(run.body.executions[0].changes_made).toHaveLength(11);
    const gone = async (p: string) => (await lstat(at(p)).catch(() => null)) === null;
    for (const p of [
      'tmp/old.txt',
      'tmp/olddir',
      'tmp/emptydir',
      'tmp/broken',
      'var/log/syslog.1',
      'var/cache/apt/archives/pkg.deb',
    ])
      expect(await gone(p)).toBe(true);
    for (const p of [
      'outside/victim.txt',
      'outside/sub/deep.txt',
      'tmp/evil-dir',
      'tmp/evil-file',
      'tmp/keep/old-protected.txt',
      'tmp/new.txt',
      'var/log/syslog',
    ])
      expect(await gone(p)).toBe(false);
  });
});

describe('automation commands', () => {
  test('run with prerequisites (fan-in), a failure exits 1 with stderr; list, next, status, history and report read it back', async () => {
    const fan = await t.run(['automation', 'run', 'final-report']);
    expect(fan.exitCode).toBe(0);
    expect(fan.stdout).toMatch(
      /^(daily-backup|cleanup): Success[\s\S]*\n(daily-backup|cleanup): Success[\s\S]*final-report: Success in \S+\n {2}report done$/,
    );
    const bad = await t.run(['automation', 'run', 'failing']);
    expect(bad.exitCode).toBe(1);
    expect(bad.stdout).toContain('failing: Failed in');
    expect(bad.stdout).toContain('sh -c echo oops >&2; exit 3: exit 3: oops');
    const list = await json(['automation', 'list']);
    expect(list.body.tasks.map((x: { id: string; last_status: string }) => [x.id, x.last_status])).toEqual([
      ['daily-backup', 'Success'],
      ['cleanup', 'Success'],
      ['final-report', 'Success'],
      ['failing', 'Failed'],
      ['zstd-backup', 'Success'],
      ['slow', null],
    ]);
    const next = await json(['automation', 'next', 'final-report', '--count', '3']);
    expect(next.body.tasks[0].runs).toHaveLength(3);
    for (const run of next.body.tasks[0].runs) expect(run).toMatch(/T0[23]:00:00\.000Z$/); // 04:00 in Berlin
    const text = await t.run(['automation', 'next', 'daily-backup']);
    expect(text.stdout).toMatch(/^daily-backup {2}\(daily:02:00\)\n {2}1\. .* 0[23]:[0-2][0-9]:[0-5][0-9] CES?T {2}\(/);
    const status = await json(['automation', 'status', 'failing']);
    expect(status.body).toMatchObject({
      id: 'failing',
      running: false,
      last_status: 'Failed',
      executions: [{ status: 'Failed', trigger: { type: 'Manual' } }],
    });
    const hist = await json(['automation', 'history', '--status', 'failed']);
    expect(hist.body.executions.map((e: { task_id: string }) => e.task_id)).toEqual(['failing']);
    const report = await json(['automation', 'report', '--period', 'last-week']);
    expect(report.body).toMatchObject({
      // The zstd backup's run (the test before) is in it too; the cleanup's dry run is not (a dry
      // run records nothing).
      total_tasks: 7,
      successful_tasks: 6,
      failed_tasks: 1,
      space_freed: 1810,
      files_backed_up: 9,
      task_breakdown: [
        { task_type: 'backup', total: 3, success: 3, failed: 0 },
        { task_type: 'maintenance', total: 4, success: 3, failed: 1 },
      ],
    });
    const md = await t.run(['automation', 'report', '--format', 'markdown']);
    expect(md.stdout).toMatch(/^# Automation report: last-week\n[\s\S]*\| 7 \| 6 \| 1 \| 0 \| 0 \|/);
    const badPeriod = await json(['automation', 'report', '--period', 'fortnight']);
    expect(badPeriod.body.error).toMatchObject({ code: 'CX_ERR_USAGE', exit: 2 });
    const help = await t.run(['automation', 'run', '--help']);
    expect(help.stdout).toContain('--no-deps');
    expect(help.stdout).toContain('Example: cx-ops automation run daily-backup --dry-run');
  });

  test('one run of a task at a time across processes; kill -9 mid-task leaves the execution Interrupted, said by the next command that looks', async () => {
    const child = execa(
      process.execPath,
      ['--no-node-snapshot', LAUNCHER, '--root', t.root, 'automation', 'run', 'slow'],
      {
        reject: false,
        env: { HOME: at('home'), NO_COLOR: '1', CX_PLUGIN_PATH: '' },
        extendEnv: false,
      },
    );
    let pid = '';
    for (let i = 0; i < 600 && !pid; i++) {
      pid = (await readFile(at('slow.pid'), 'utf8').catch(() => '')).trim();
      if (!pid) await new Promise((r) => setTimeout(r, 50));
    }
    expect(pid).not.toBe('');
    // The same task from another process meanwhile: Skipped, naming the process that runs it.
    const twice = await json(['automation', 'run', 'slow']);
    expect(twice.code).toBe(1);
    expect(twice.body.executions).toMatchObject([
      {
        task_id: 'slow',
        status: 'Skipped',
        error: `it is running in another process (pid ${child.pid}, cx-ops automation task slow)`,
      },
    ]);
    child.kill('SIGKILL');
    await child;
    process.kill(Number(pid), 'SIGKILL');
    const h = await json(['automation', 'history', 'slow']);
    expect(h.body.executions).toMatchObject([
      { task_id: 'slow', status: 'Skipped' },
      {
        task_id: 'slow',
        status: 'Interrupted',
        error: `interrupted: process ${child.pid} ended while the task ran (killed, crashed or the host went down)`,
      },
    ]);
  });
});
