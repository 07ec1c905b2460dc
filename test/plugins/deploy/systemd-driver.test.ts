// The systemd driver as far as real parts allow on a host where systemd does not run: the real
// `systemctl --version` and `systemd-analyze verify`, the real systemctl's answer without
// systemd, and the driver under the real kernel (the SDK's harness) with only systemctl's
// unit-changing and unit-state commands answered by a stand-in in systemctl's own output format.
// What the driver runs, in which order, with which unit text, is checked; so is how it reads a
// unit's end (the completion that `service_completed_successfully` waits for).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlugin, type StartedPlugin } from 'cx-ops/sdk/testing';
import type { ExecOptions, FileStat } from '../../../sdk/types.js';
import {
  parseSystemctlShow,
  systemdVersion,
  unitCompletion,
  verifyUnit,
} from '../../../plugins-builtin/deploy/systemd-driver.js';
import { generateSystemdUnit } from '../../../plugins-builtin/deploy/systemd-unit.js';

const DEPLOY = new URL('../../../dist/plugins-builtin/deploy/', import.meta.url);
const SERVICES = new URL('../../../dist/plugins-builtin/services/', import.meta.url);
const haveSystemd = spawnSync('systemctl', ['--version']).status === 0;
const haveAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

/** A real command, as ctx.exec.run would report it. */
function real(command: string, args: string[], options: Partial<ExecOptions> = {}) {
  const r = spawnSync(command, args, { encoding: 'utf8', env: { ...process.env, ...options.env } });
  return { exitCode: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '', dryRun: false, signal: null };
}
/** A context whose exec is the real one (the functions below need nothing else). */
const realCtx = { exec: { run: async (c: string, a: string[]) => real(c, a) } } as never;

// `systemctl show UNIT --property=…` prints the requested properties in systemd's own order
// (the service's before the unit's), one Key=Value a line; these are such outputs.
const SHOW = {
  running: 'Result=success\nExecMainCode=0\nExecMainStatus=0\nLoadState=loaded\nActiveState=active\nSubState=running\n',
  exited0: 'Result=success\nExecMainCode=1\nExecMainStatus=0\nLoadState=loaded\nActiveState=inactive\nSubState=dead\n',
  exited3:
    'Result=exit-code\nExecMainCode=1\nExecMainStatus=3\nLoadState=loaded\nActiveState=failed\nSubState=failed\n',
  killed: 'Result=signal\nExecMainCode=2\nExecMainStatus=9\nLoadState=loaded\nActiveState=failed\nSubState=failed\n',
  neverRan: 'Result=success\nExecMainCode=0\nExecMainStatus=0\nLoadState=loaded\nActiveState=inactive\nSubState=dead\n',
  notFound:
    'Result=success\nExecMainCode=0\nExecMainStatus=0\nLoadState=not-found\nActiveState=inactive\nSubState=dead\n',
};

describe('systemd driver: what it runs and how it reads the answers', () => {
  it.skipIf(!haveSystemd)('reads the version from the real `systemctl --version`', async () => {
    const first = real('systemctl', ['--version']).stdout.split('\n')[0]!;
    expect(first).toMatch(/^systemd \d+ /);
    expect(await systemdVersion(realCtx)).toBe(Number(first.split(' ')[1]));
  });

  it.skipIf(!haveAnalyze)(
    'verifyUnit: the real systemd-analyze passes a generated unit and names what it rejects',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'cx-sd-verify-'));
      try {
        const good = join(dir, 'job.service');
        const target = {
          service: 'job',
          manifest_file: 'm.yaml',
          spec: {
            enable: true,
            ip: '127.0.0.40',
            hostname: 'job.test',
            restart_policy: 'never' as const,
            driver: { type: 'systemd', command: '/bin/true' },
          },
        };
        writeFileSync(good, generateSystemdUnit(target, null, 252));
        expect(await verifyUnit(realCtx, good)).toBeNull();
        const bad = join(dir, 'bad.service');
        writeFileSync(bad, '[Service]\nExecStart=/bin/true\nRestartz=always\n');
        expect(await verifyUnit(realCtx, bad)).toBe(`${bad}:3: Unknown key 'Restartz' in section [Service], ignoring.`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it('parses `systemctl show` and tells a unit that ran to its end (with its exit code) from one still running', () => {
    expect(parseSystemctlShow(SHOW.exited3)).toEqual({
      Result: 'exit-code',
      ExecMainCode: '1',
      ExecMainStatus: '3',
      LoadState: 'loaded',
      ActiveState: 'failed',
      SubState: 'failed',
    });
    const of = (k: keyof typeof SHOW) => unitCompletion(parseSystemctlShow(SHOW[k]));
    expect(of('running')).toEqual({ done: false, exit_code: null, detail: 'active (running)' });
    expect(of('exited0')).toEqual({
      done: true,
      exit_code: 0,
      detail: 'inactive (dead): exited with 0 (result success)',
    });
    expect(of('exited3')).toEqual({
      done: true,
      exit_code: 3,
      detail: 'failed (failed): exited with 3 (result exit-code)',
    });
    expect(of('killed')).toEqual({
      done: true,
      exit_code: null,
      detail: 'failed (failed): ended by signal 9 (result signal)',
    });
    expect(of('neverRan')).toEqual({
      done: false,
      exit_code: null,
      detail: 'inactive (dead): its main process has not run yet',
    });
    expect(of('notFound')).toEqual({ done: true, exit_code: null, detail: 'no such unit' });
  });
});

describe('systemd driver under the real kernel, systemctl answered in its own format', { timeout: 120_000 }, () => {
  let plugin: StartedPlugin;
  let unitDir: string;
  const calls: string[] = [];
  /** What the stand-in systemctl says `show` of api.service is, by the last command run. */
  let state = SHOW.neverRan;
  let afterStart = SHOW.exited0;

  beforeAll(async () => {
    unitDir = mkdtempSync(join(tmpdir(), 'cx-sd-units-'));
    plugin = await startPlugin(DEPLOY, {
      tier: 'trusted',
      alongside: [SERVICES.pathname],
      config: { systemd_unit_dir: unitDir },
      fakes: {
        exec: {
          async run(command, args, options) {
            calls.push([command, ...args].join(' '));
            if (command !== 'systemctl' || args[0] === '--version') return real(command, args, options);
            if (args[0] === 'show') {
              // Only the properties asked for, as systemctl prints them.
              const asked = (args.find((a) => a.startsWith('--property=')) ?? '').slice(11).split(',');
              const lines = state.split('\n').filter((l) => asked.includes(l.split('=')[0]!));
              return { exitCode: 0, stdout: `${lines.join('\n')}\n`, stderr: '' };
            }
            if (args[0] === 'restart' || args[0] === 'start') state = afterStart;
            if (args[0] === 'stop') state = SHOW.neverRan;
            return { exitCode: 0, stdout: '', stderr: '' };
          },
        },
        fs: {
          // systemd runs on this pretend host: the one path the services plugin looks for.
          async stat(path: string): Promise<FileStat | null> {
            if (path === '/run/systemd/system')
              return { path, type: 'directory', size: 0, mode: 0o755, uid: 0, gid: 0, mtimeMs: 0 };
            try {
              const s = statSync(path);
              return {
                path,
                type: s.isDirectory() ? 'directory' : s.isFile() ? 'file' : 'other',
                size: s.size,
                mode: s.mode & 0o7777,
                uid: s.uid,
                gid: s.gid,
                mtimeMs: s.mtimeMs,
              };
            } catch {
              return null;
            }
          },
        },
      },
    });
  });
  afterAll(async () => {
    await plugin?.close();
    rmSync(unitDir, { recursive: true, force: true });
  });

  const job = {
    service: 'migrate',
    manifest_file: '/srv/stack.yaml',
    spec: {
      enable: true,
      ip: '127.0.0.41',
      hostname: 'migrate.test',
      restart_policy: 'never',
      environment: { STEP: 'all' },
      driver: { type: 'systemd', command: '/bin/sh -c "exit 0"' },
    },
  };

  it.skipIf(!haveSystemd || !haveAnalyze)(
    'deploy: version, verify (the real systemd-analyze), write, daemon-reload, restart; completion reads the exit',
    async () => {
      expect(await plugin.invoke('deploy-driver', 'systemd', { op: 'detect' })).toEqual({ available: true });
      calls.length = 0;
      const out = await plugin.invoke('deploy-driver', 'systemd', { op: 'deploy', ...job });
      const unit = join(unitDir, 'migrate.service');
      const version = Number(real('systemctl', ['--version']).stdout.split(' ')[1]);
      // The unit is verified as a copy in the plugin's state directory before it is installed.
      expect(calls).toEqual([
        'systemctl --version',
        expect.stringMatching(new RegExp(`^systemd-analyze verify ${plugin.home}/.*/verify/migrate\\.service$`)),
        'systemctl daemon-reload',
        'systemctl restart migrate.service',
      ]);
      expect(out).toEqual({
        ok: true,
        changed: true,
        detail: 'migrate.service started',
        actions: [
          `write ${unit}`,
          'systemctl daemon-reload: daemon reloaded',
          'systemctl restart migrate.service: exit 0',
        ],
      });
      expect(readFileSync(unit, 'utf8')).toBe(generateSystemdUnit(job as never, null, version));
      expect(readFileSync(unit, 'utf8')).toContain('\nRestart=no\n');

      calls.length = 0;
      expect(await plugin.invoke('deploy-driver', 'systemd', { op: 'completion', ...job })).toEqual({
        done: true,
        exit_code: 0,
        detail: 'inactive (dead): exited with 0 (result success)',
      });
      expect(calls).toEqual([
        'systemctl show migrate.service --property=LoadState,ActiveState,SubState,Result,ExecMainCode,ExecMainStatus --no-pager',
      ]);

      // The same unit again: nothing written, a plain start; this time it fails with exit 3.
      afterStart = SHOW.exited3;
      calls.length = 0;
      const again = (await plugin.invoke('deploy-driver', 'systemd', { op: 'deploy', ...job })) as { changed: boolean };
      expect(again.changed).toBe(false);
      expect(calls.filter((c) => c.startsWith('systemctl ') && c !== 'systemctl --version')).toEqual([
        'systemctl start migrate.service',
      ]);
      expect(await plugin.invoke('deploy-driver', 'systemd', { op: 'completion', ...job })).toMatchObject({
        done: true,
        exit_code: 3,
      });
      expect(await plugin.invoke('deploy-driver', 'systemd', { op: 'status', ...job })).toEqual({
        state: 'failed',
        detail: 'failed (failed)',
      });

      // Revert of a unit that was not there before: stop, remove, daemon-reload.
      calls.length = 0;
      expect(await plugin.invoke('deploy-driver', 'systemd', { op: 'revert', ...job, before: null })).toMatchObject({
        ok: true,
        detail: 'migrate.service stopped and removed',
      });
      expect(calls).toEqual(['systemctl stop migrate.service', 'systemctl daemon-reload']);
      expect(existsSync(unit)).toBe(false);
    },
  );
});

describe('systemd driver against the real systemctl of a host without systemd', () => {
  it.skipIf(!haveSystemd || existsSync('/run/systemd/system'))(
    "completion reports systemctl's own reason and is not done",
    async () => {
      const plugin = await startPlugin(DEPLOY, { tier: 'trusted', alongside: [SERVICES.pathname] });
      try {
        const r = (await plugin.invoke('deploy-driver', 'systemd', {
          op: 'completion',
          service: 'migrate',
          manifest_file: '/srv/stack.yaml',
          spec: {
            enable: true,
            ip: '127.0.0.41',
            hostname: 'm.test',
            driver: { type: 'systemd', command: '/bin/true' },
          },
        })) as { done: boolean; exit_code: null; detail: string };
        expect(r.done).toBe(false);
        expect(r.exit_code).toBeNull();
        expect(r.detail).toMatch(
          /^systemctl show migrate\.service failed \(exit 1\): System has not been booted with systemd as init system \(PID 1\)\. Can't operate\./,
        );
        expect(await plugin.invoke('deploy-driver', 'systemd', { op: 'detect' })).toEqual({
          available: false,
          reason: 'systemd is not running here (/run/systemd/system does not exist: a container or CI?); nothing to do',
        });
      } finally {
        await plugin.close();
      }
    },
  );
});
