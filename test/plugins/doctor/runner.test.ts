// The scheduler and the renderers as pure code. The registry given to runChecks here is a small
// in-memory one (the kernel's is exercised end to end in doctor-cli.test.ts); what is under test
// is the runner's own logic: concurrency cap, dependency order and skips, hook handling.
import { describe, expect, test } from 'vitest';
import {
  hookName,
  type ContributionInfo,
  type HookDeclaration,
  type HookOutcome,
  type Json,
  type PluginContext,
} from 'cx-ops/sdk';
import { orderByDependencies, runChecks } from '../../../plugins-builtin/doctor/run-checks.js';
import { renderText } from '../../../plugins-builtin/doctor/render-text.js';
import {
  exitCodeFor,
  overallStatus,
  summarize,
  type DoctorReport,
} from '../../../plugins-builtin/doctor/report-model.js';
import { readOptions, selectChecks } from '../../../plugins-builtin/doctor/doctor-command.js';

const info = (id: string, depends_on: string[] = [], category = 'system'): ContributionInfo => ({
  kind: 'check',
  id,
  plugin: 'p',
  tier: 'trusted',
  meta: { name: id, category, severity: 'low', fix_id: null, depends_on },
});

function registryCtx(behaviour: Record<string, () => Promise<unknown>>, hooks: string[] = []) {
  let inFlight = 0;
  let maxInFlight = 0;
  const started: string[] = [];
  const ctx = {
    io: { err: () => undefined },
    registry: {
      list: async () => [],
      callHook: async (hook: string | HookDeclaration, payload: Json): Promise<HookOutcome> => {
        hooks.push(`${hookName(hook)}:${(payload as { check_id: string }).check_id}`);
        return { proceed: true, payload, errors: [] };
      },
      invoke: async (_kind: string, id: string) => {
        started.push(id);
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        try {
          return (await behaviour[id]!()) as Json;
        } finally {
          inFlight--;
        }
      },
    },
  } as unknown as PluginContext;
  return { ctx, started, max: () => maxInFlight };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const passAfter = (ms: number) => async () => (await sleep(ms), { status: 'PASS', message: 'ok' });

describe('runChecks', () => {
  test('never more than max_parallel at once; results in the given order; hooks around each', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `c${i}`);
    const hooks: string[] = [];
    const r = registryCtx(Object.fromEntries(ids.map((id, i) => [id, passAfter(5 + (i % 3) * 5)])), hooks);
    const results = await runChecks(
      r.ctx,
      ids.map((id) => info(id)),
      { maxParallel: 3, timeoutSeconds: 5 },
    );
    expect(r.max()).toBe(3);
    expect(results.map((x) => x.check_id)).toEqual(ids);
    expect(hooks.filter((h) => h.startsWith('pre_check'))).toHaveLength(10);
    expect(hooks.filter((h) => h.startsWith('post_check'))).toHaveLength(10);
    const seq = registryCtx(Object.fromEntries(ids.map((id) => [id, passAfter(1)])));
    await runChecks(
      seq.ctx,
      ids.map((id) => info(id)),
      { maxParallel: 1, timeoutSeconds: 5 },
    );
    expect(seq.max()).toBe(1);
  });

  test('dependencies run first; a FAILed or ERRORed dependency skips its dependents; a cycle does not hang', async () => {
    const checks = [info('conn', ['dns']), info('dns'), info('other', ['conn'])];
    expect(orderByDependencies(checks).map((c) => c.id)).toEqual(['dns', 'conn', 'other']);
    const hooks: string[] = [];
    const r = registryCtx(
      { dns: async () => ({ status: 'FAIL', message: 'no' }), conn: passAfter(1), other: passAfter(1) },
      hooks,
    );
    const results = await runChecks(r.ctx, checks, { maxParallel: 4, timeoutSeconds: 5 });
    expect(results.map((x) => [x.check_id, x.status, x.message])).toEqual([
      ['conn', 'SKIP', 'skipped: dns failed'],
      ['dns', 'FAIL', 'no'],
      ['other', 'PASS', 'ok'],
    ]);
    expect(r.started).not.toContain('conn');
    expect(hooks.filter((x) => x.endsWith(':conn'))).toEqual(['post_check:conn']);
    const cyc = registryCtx({ a: passAfter(1), b: passAfter(1) });
    const out = await runChecks(cyc.ctx, [info('a', ['b']), info('b', ['a'])], { maxParallel: 2, timeoutSeconds: 5 });
    expect(out.map((x) => x.status)).toEqual(['PASS', 'PASS']);
  });

  test('a thrown error or a timeout from the registry becomes an ERROR naming the plugin', async () => {
    const timeout = Object.assign(new Error('late'), { code: 'CX_ERR_CALL_TIMEOUT' });
    const r = registryCtx({
      t: async () => Promise.reject(timeout),
      e: async () => Promise.reject(new Error('boom')),
      big: async () => ({ status: 'PASS', message: 'x', details: { n: 10n } }),
    });
    const [t, e, big] = await runChecks(r.ctx, [info('t'), info('e'), info('big')], {
      maxParallel: 3,
      timeoutSeconds: 2,
    });
    expect(t).toMatchObject({ status: 'ERROR', message: "timed out after 2s (plugin 'p')" });
    expect(e).toMatchObject({ status: 'ERROR', message: "plugin 'p' failed in check 'e': boom" });
    expect(big).toMatchObject({
      status: 'ERROR',
      message: expect.stringContaining("plugin 'p' returned details for check 'big' that are not plain JSON data"),
    });
  });
});

describe('options, selection, report', () => {
  test('--json is --format json; contradicting flags and unknown ids are usage problems; --dry-run needs --fix', () => {
    expect(readOptions({ json: true })).toMatchObject({ format: 'json', fix: false });
    expect(readOptions({ dryRun: true, fix: true })).toMatchObject({ fix: true, dryRun: true });
    expect(() => readOptions({ dryRun: true })).toThrow('--dry-run previews fixes and needs --fix');
    expect(() => readOptions({ json: true, format: 'junit' })).toThrow(
      '--json and --format junit contradict each other',
    );
    expect(() => readOptions({ format: 'jsn' })).toThrow(
      "unknown format 'jsn'; valid formats: text, json, markdown, junit, nagios, prometheus. Did you mean: json?",
    );
    const all = [info('disk_space', [], 'disk'), info('memory', [], 'memory')];
    expect(selectChecks(all, { check: [], category: ['memory'] }).selected.map((c) => c.id)).toEqual(['memory']);
    expect(() => selectChecks(all, { check: ['memroy'], category: [] })).toThrow(
      "no check 'memroy' is registered. Did you mean: memory?",
    );
  });

  test('exit codes follow Nagios; colours only when asked', () => {
    const r = (status: 'PASS' | 'WARN' | 'FAIL' | 'SKIP' | 'ERROR') => ({
      check_id: status,
      name: status,
      status,
      message: 'm',
      details: {},
      fix_id: null,
      duration_ms: 1,
    });
    expect(exitCodeFor([r('PASS'), r('SKIP')])).toBe(0);
    expect(exitCodeFor([r('PASS'), r('WARN')])).toBe(1);
    expect(exitCodeFor([r('WARN'), r('FAIL')])).toBe(2);
    expect(exitCodeFor([r('FAIL'), r('ERROR')])).toBe(3);
    expect(overallStatus([r('SKIP')])).toBe('SKIP');
    const results = [r('PASS'), r('FAIL')];
    const report: DoctorReport = {
      version: '0',
      root: '/',
      started_at: new Date(0).toISOString(),
      duration_ms: 10,
      status: 'FAIL',
      exit_code: 2,
      summary: summarize(results),
      results,
      checks: {},
    };
    expect(renderText(report, { color: true, verbose: false, command: 'cx-ops' })).toContain(
      '\x1b[1;31m[FAIL] \x1b[0m',
    );
    expect(renderText(report, { color: false, verbose: false, command: 'cx-ops' })).not.toContain('\x1b[');
  });
});
