/**
 * One cycle of the engine with no I/O (the seed's end-to-end benchmark input): cpu 95, memory 88,
 * disk 92 and one inactive service give 4 issues, CRITICAL first, and 3 recorded actions (cpu
 * has no default action); at most max_parallel run at once; a veto and a throwing action.
 */
import { expect, test } from 'vitest';
import { defaultPlan } from '../../../plugins-builtin/heal/default-resolver.js';
import { healCycle, type CycleDeps } from '../../../plugins-builtin/heal/heal-engine.js';
import { emptyDetectorState } from '../../../plugins-builtin/heal/judge.js';
import { healConfig, readings } from './heal-fixtures.js';

const SEED = readings({ cpu: 95, memory: 88, disk: 92, services: { nginx: false, redis: true } });

function deps(over: Partial<CycleDeps> = {}): CycleDeps & { started: string[]; peak: number } {
  let running = 0;
  const d = {
    started: [] as string[],
    peak: 0,
    now: () => Date.parse('2026-12-02T06:00:00Z'),
    dryRun: true,
    resolve: (issue: Parameters<CycleDeps['resolve']>[0]) => ({
      plan: defaultPlan(issue),
      resolver: 'heal/default',
      errors: [],
    }),
    veto: async () => null,
    async act(_issue: unknown, plan: { action: string }) {
      d.started.push(plan.action);
      d.peak = Math.max(d.peak, ++running);
      await new Promise((r) => setImmediate(r));
      running--;
      return { ok: true, detail: 'recorded', would: [`would ${plan.action}`] };
    },
    ...over,
  };
  return d;
}

test('the seed end-to-end input: 4 issues by severity, 3 recorded actions, cpu monitor only', async () => {
  const d = deps();
  const out = await healCycle(emptyDetectorState(), SEED, healConfig({ for_cycles: 1 }), d);
  expect(out.judgement.issues.map((i) => `${i.component} ${i.severity}`)).toEqual([
    'cpu CRITICAL',
    'memory HIGH',
    '/ HIGH',
    'nginx HIGH',
  ]);
  expect(
    out.results.map((r) => [r.issue.component, r.action_taken, r.skipped ?? null, r.would_have_done ?? null]),
  ).toEqual([
    ['cpu', null, 'monitor_only', null],
    ['memory', 'clear_system_cache', null, ['would clear_system_cache']],
    ['/', 'cleanup_disk', null, ['would cleanup_disk']],
    ['nginx', 'restart_service', null, ['would restart_service']],
  ]);
  expect(out.results[3]!.parameters).toEqual({ service: 'nginx', manager: 'supervisord' });
  expect(d.peak).toBe(2);
});

test('a vetoed action is not run and spends no budget; a throwing action is a failed result with its message', async () => {
  const state = emptyDetectorState();
  const cfg = healConfig({ for_cycles: 1 });
  const out = await healCycle(
    state,
    SEED.slice(1, 2),
    cfg,
    deps({ veto: async () => 'clear_system_cache vetoed by x' }),
  );
  expect(out.results[0]).toMatchObject({
    action_taken: null,
    skipped: 'vetoed',
    error: 'clear_system_cache vetoed by x',
  });
  expect(state.components['memory:memory']!.budget?.actions).toEqual([]);
  const thrown = await healCycle(
    state,
    SEED.slice(1, 2),
    cfg,
    deps({ dryRun: false, act: async () => Promise.reject(new Error('boom')) }),
  );
  expect(thrown.results[0]).toMatchObject({ action_taken: 'clear_system_cache', success: false, error: 'boom' });
  expect(thrown.results[0]!.would_have_done).toBeUndefined();
});

test('a throwing pre_heal fails the cycle once the others have finished, and leaves no component busy', async () => {
  const state = emptyDetectorState();
  const cfg = healConfig({ for_cycles: 1, max_parallel: 4 });
  const finished: string[] = [];
  const d = deps({
    veto: async (issue) => {
      if (issue.component === 'memory') throw new Error('pre_heal tap crashed');
      return null;
    },
    async act(_issue, plan) {
      await new Promise((r) => setImmediate(r));
      finished.push(plan.action);
      return { ok: true, detail: 'recorded', would: [`would ${plan.action}`] };
    },
  });
  const e = await healCycle(state, SEED.slice(1, 3), cfg, d).then(
    () => null,
    (err: Error) => err,
  );
  expect(e?.message).toBe('pre_heal tap crashed');
  // The disk action the cycle started had finished when the cycle failed: nothing runs on past it.
  expect(finished).toEqual(['cleanup_disk']);
  // Neither component is left busy: the next cycle acts on memory.
  const next = await healCycle(state, SEED.slice(1, 2), cfg, deps());
  expect(next.results[0]).toMatchObject({ issue: { component: 'memory' }, action_taken: 'clear_system_cache' });
});
