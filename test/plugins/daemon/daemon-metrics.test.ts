/**
 * Plugins' own metrics on the daemon's /metrics (kind `daemon-metric`): a sandboxed plugin
 * declares three families and moves them from its job; what does not fit a declaration (the
 * daemon's own series, a wrong label, a value of the wrong type, a counter not ending in _total)
 * is refused and counted; promtool accepts the result; a reload without the plugin drops them.
 * The job also gets the stored results its meta asks for (`history`), the sandboxed way to read the store.
 */
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { afterEach, describe, expect, test } from 'vitest';
import { daemonFixture, daemonRoot, eventually, type DaemonRoot } from './daemon-process.js';

let host: DaemonRoot | undefined;
afterEach(async () => {
  await host?.cleanup();
  host = undefined;
});

const value = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('plugin metrics in the daemon registry', () => {
  test('declared families are served and moved by their plugin only; bad samples are counted; a reload without the plugin removes them', async () => {
    host = await daemonRoot('healthy');
    const dir = daemonFixture('metrics-demo');
    expect((await host.cli(['--plugin-dir', dir, 'plugins', 'enable', 'metrics-demo'])).exitCode).toBe(0);
    await host.config('daemon:\n  interval: 2s\n  listen: 127.0.0.1:0\n  checks: [memory]\n');
    const d = await host.start({ args: ['--plugin-dir', dir] });
    const invalid = await d.waitFor((l) => l.type === 'metric_invalid', 'the refused family');
    expect(invalid).toMatchObject({
      level: 'warn',
      plugin: 'metrics-demo',
      message:
        "metric 'cx_ops_demo_bad' of plugin 'metrics-demo' is not registered: counter 'cx_ops_demo_bad' must end in _total",
    });
    await d.waitFor((l) => l.type === 'cycle_end' && l.data?.job === 'demo' && l.data?.cycle >= 2, 'two demo cycles');

    const text = (await d.get('/metrics')).text;
    expect(text).toContain('# TYPE cx_ops_demo_events_total counter');
    expect(value(text, 'cx_ops_demo_events_total{kind="a"}')).toBeGreaterThanOrEqual(4);
    expect(value(text, 'cx_ops_demo_queue_depth')).toBeGreaterThanOrEqual(2);
    expect(value(text, 'cx_ops_demo_wait_seconds_bucket{le="1"}')).toBeGreaterThanOrEqual(2);
    expect(value(text, 'cx_ops_demo_wait_seconds_bucket{le="0.1"}')).toBe(0);
    expect(text).not.toContain('cx_ops_demo_bad');
    // The job's meta asked for the stored results of memory: a sandboxed job reads the store so.
    await eventually(
      async () => (value((await d.get('/metrics')).text, 'cx_ops_demo_history_rows') ?? 0) >= 1,
      'history handed to the job',
    );
    expect(text).not.toContain('check="x"');
    expect(value(text, 'cx_ops_daemon_metric_samples_rejected_total{plugin="metrics-demo"}')).toBeGreaterThanOrEqual(6);
    const rejected = d.lines.filter((l) => l.type === 'metric_rejected').map((l) => l.message);
    expect(rejected.slice(0, 3)).toEqual([
      "a metric sample of plugin 'metrics-demo' was dropped: no metric 'cx_ops_checks_total' is declared (declare it with defineDaemonMetric)",
      "a metric sample of plugin 'metrics-demo' was dropped: a 'cx_ops_demo_events_total' sample must carry exactly the labels kind, as strings",
      "a metric sample of plugin 'metrics-demo' was dropped: a counter sample of 'cx_ops_demo_events_total' needs inc (≥ 0), a finite number, and nothing else",
    ]);
    if (existsSync('/usr/bin/promtool')) {
      const r = await execa('promtool', ['check', 'metrics'], { input: text, reject: false });
      expect({ exitCode: r.exitCode, out: r.stdout + r.stderr }).toEqual({ exitCode: 0, out: '' });
    }

    // Disabled and reloaded: its families leave /metrics, the daemon's own stay.
    expect((await host.cli(['--plugin-dir', dir, 'plugins', 'disable', 'metrics-demo'])).exitCode).toBe(0);
    d.kill('SIGHUP');
    await d.waitFor((l) => l.type === 'reloaded', 'reloaded');
    const after = await eventually(async () => {
      const t = (await d.get('/metrics')).text;
      return t.includes('cx_ops_demo_') ? undefined : t;
    }, 'the demo families gone');
    expect(after).toContain('cx_ops_checks_total');
    expect((await d.stop()).exitCode).toBe(0);
  });
});
