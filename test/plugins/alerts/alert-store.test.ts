/**
 * The alerts state in the history store, against a recording fake of `history-state`: a cycle
 * writes only the entries that changed (one alert, meta, rev), an unchanged `rev` is the only
 * read, another process's write (a foreign rev) makes the next load read everything, and the
 * old one-entry `engine` is read and replaced by per-alert entries.
 */
import { describe, expect, test } from 'vitest';
import type { PluginContext } from '../../../sdk/index.js';
import type { StateInput } from '../../../plugins-builtin/daemon/state-kind.js';
import { loadState, locked, saveState } from '../../../plugins-builtin/alerts/alert-store.js';
import type { AlertInstance } from '../../../plugins-builtin/alerts/alert-types.js';

function fakeStore(dataDir: string) {
  const rows = new Map<string, unknown>();
  const calls: StateInput[] = [];
  const ctx = {
    plugin: 'alerts',
    env: { dataDir },
    lock: async () => ({ name: 'alerts-state', release: async () => undefined }),
    registry: {
      invoke: async (_kind: unknown, _id: string, input: StateInput) => {
        calls.push(input);
        for (const p of input.put ?? [])
          if (p.value === null) rows.delete(p.key);
          else rows.set(p.key, JSON.parse(JSON.stringify(p.value)));
        const entries =
          input.get === undefined
            ? []
            : [...rows]
                .filter(([k]) => k.startsWith(input.get!))
                .sort(([a], [b]) => a.localeCompare(b))
                .map(([key, value]) => ({ key, ts: 0, value }));
        return { entries, stored: true };
      },
    },
  } as unknown as PluginContext<unknown>;
  return { ctx, rows, calls };
}

const alert = (rule: string, message: string): AlertInstance => ({
  fingerprint: rule,
  rule,
  check: 'memory',
  labels: { alertname: rule },
  annotations: {},
  state: 'firing',
  active_cycles: 1,
  starts_at: 0,
  ends_at: null,
  active: true,
  flips: [],
  flapping: false,
  told: false,
  status: 'FAIL',
  message,
  value: '',
});

describe('the alerts state store', () => {
  test('only what changed is written; an unchanged rev is the only read', async () => {
    const f = fakeStore('/data/a');
    const st = await loadState(f.ctx);
    for (let i = 0; i < 100; i++) st.engine.alerts[`r${i}`] = alert(`r${i}`, 'm');
    st.engine.cycle = 1;
    await locked(f.ctx, () => saveState(f.ctx, [], [], st.engine));
    expect(f.calls.at(-1)!.put).toHaveLength(102); // 100 alerts, meta, rev

    f.calls.length = 0;
    const again = await loadState(f.ctx);
    expect(again).toBe(st);
    expect(f.calls).toEqual([{ plugin: 'alerts', get: 'rev' }]);
    again.engine.alerts.r7!.message = 'changed';
    again.engine.cycle = 2;
    delete again.engine.alerts.r8;
    await saveState(f.ctx, [], [], again.engine);
    expect(
      f.calls
        .at(-1)!
        .put!.map((p) => p.key)
        .sort(),
    ).toEqual(['alert/r7', 'alert/r8', 'meta', 'rev']);
    expect(f.calls.at(-1)!.put!.find((p) => p.key === 'alert/r8')!.value).toBeNull();

    // Nothing changed: nothing written.
    f.calls.length = 0;
    await saveState(f.ctx, [], [], (await loadState(f.ctx)).engine);
    expect(f.calls).toEqual([{ plugin: 'alerts', get: 'rev' }]);
  });

  test("another process's write is read whole at the next load", async () => {
    const f = fakeStore('/data/b');
    const st = await loadState(f.ctx);
    st.engine.alerts.x = alert('x', 'm');
    await saveState(f.ctx, [], [], st.engine);
    // doctor --alert elsewhere: its own entries and rev.
    f.rows.set('alert/y', alert('y', 'from doctor'));
    f.rows.set('rev', { pid: 1, id: 'other' });
    f.calls.length = 0;
    const fresh = await loadState(f.ctx);
    expect(fresh).not.toBe(st);
    expect(Object.keys(fresh.engine.alerts).sort()).toEqual(['x', 'y']);
    expect(f.calls).toEqual([
      { plugin: 'alerts', get: 'rev' },
      { plugin: 'alerts', get: '' },
    ]);
  });

  test('the one-entry engine of earlier versions is read, then replaced by per-alert entries', async () => {
    const f = fakeStore('/data/c');
    f.rows.set('engine', { cycle: 9, alerts: { old: alert('old', 'm') }, groups: {} });
    const st = await loadState(f.ctx);
    expect(st.engine.cycle).toBe(9);
    expect(Object.keys(st.engine.alerts)).toEqual(['old']);
    await saveState(f.ctx, [], [], st.engine);
    expect([...f.rows.keys()].sort()).toEqual(['alert/old', 'meta', 'rev']);
  });
});
