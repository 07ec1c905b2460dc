/**
 * `cx-ops daemon`: boots once (this kernel), then runs forever: the `daemon-job` contributions on
 * their schedules (the checks every daemon.interval), the HTTP face, the history store, the
 * event log and systemd notification. SIGHUP boots a fresh kernel (config.yaml and plugin state
 * read again) and swaps it in without touching the listener; a new config that does not load is
 * refused and the old one kept. SIGTERM/SIGINT: in-flight work gets daemon.grace_seconds, then
 * state is flushed and the command exits 0.
 */
import { join } from 'node:path';
import {
  CxError,
  messageOf,
  type CheckResult,
  type CommandInput,
  type ContributionInfo,
  type Json,
  type PluginContext,
  type RegistryCapability,
} from 'cx-ops/sdk';
import { releaseStopSignals, takeStopSignals } from 'cx-ops/sdk/host';
import { DaemonMetrics } from './daemon-metrics.js';
import { readSettings, type DaemonConfig, type DaemonSettings } from './daemon-settings.js';
import { DaemonState } from './daemon-state.js';
import { parseDuration } from './duration.js';
import { EventLog, type LogFormat } from './event-log.js';
import { heapTrimmer } from './heap-trim.js';
import { HistoryStore } from './history-store.js';
import { setActiveHistory } from './history-query.js';
import { DaemonHttpServer, type HttpLimits } from './http-server.js';
import { apiRoutes } from './api-routes.js';
import {
  daemonJobKind,
  jobEventType,
  jobOutputOf,
  panelOutputOf,
  type JobInput,
  type JobOutput,
  type PanelOutput,
} from './job-kind.js';
import { daemonMetricKind, setActiveMetrics } from './metric-kind.js';
import { portHolder } from './port-holder.js';
import { Scheduler, type SchedulerEvent } from './scheduler.js';
import { systemdNotifier } from './sd-notify.js';
import { cycleEndHook, daemonEventsHook, type RecordedEvent } from './state-kind.js';

/** The kernel the daemon currently runs jobs through (the booting one, or one a reload swapped in). */
interface Generation {
  registry: RegistryCapability;
  settings: DaemonSettings;
  scheduler: Scheduler;
  shutdown?: () => Promise<void>;
  services: ContributionInfo[];
}

const STATUS_WORD: Record<string, string> = {
  healthy: 'healthy',
  unhealthy: 'unhealthy',
  stale: 'stale',
  starting: 'starting',
};

async function readToken(ctx: PluginContext<DaemonConfig>, settings: DaemonSettings): Promise<string | undefined> {
  const file = settings.config.token_file;
  if (!file) return undefined;
  const bad = (detail: string) =>
    new CxError('CX_ERR_CONFIG_INVALID', {
      file: settings.configFile,
      field: 'daemon.token_file',
      detail,
      found: file,
      plugin: 'daemon',
    });
  const st = await ctx.localFs.stat(file);
  if (!st)
    throw bad(
      `names ${file}, which does not exist. Create it: (umask 077; head -c 32 /dev/urandom | base64 > ${file})`,
    );
  if (st.type !== 'file') throw bad(`names ${file}, which is not a regular file`);
  if ((st.mode & 0o077) !== 0)
    throw bad(
      `names ${file}, whose mode is ${(st.mode & 0o777).toString(8).padStart(4, '0')}: others can read the token. Fix it with: chmod 0600 ${file}`,
    );
  const token = (await ctx.localFs.readFile(file)).trim();
  if (token.length < 16 || /\s/.test(token))
    throw bad(`names ${file}, which must hold one token of at least 16 characters without spaces`);
  return token;
}

function httpLimits(s: DaemonSettings, token: string | undefined): HttpLimits {
  return {
    maxRequestBytes: s.config.max_request_bytes,
    ratePerMinute: s.config.rate_limit_per_minute,
    token,
    protectAll: s.config.protect_metrics,
    maxStreams: 32,
  };
}

/** Plausible check results only (a job's output is plugin data). */
function resultsOf(out: JobOutput | null): CheckResult[] {
  const rs = out && Array.isArray(out.results) ? out.results : [];
  return rs
    .filter(
      (r): r is CheckResult =>
        Boolean(r) &&
        typeof r.check_id === 'string' &&
        typeof r.status === 'string' &&
        ['PASS', 'WARN', 'FAIL', 'SKIP', 'ERROR'].includes(r.status) &&
        typeof r.message === 'string',
    )
    .map((r) => ({
      ...r,
      name: typeof r.name === 'string' ? r.name : r.check_id,
      duration_ms: Number(r.duration_ms) || 0,
      details: r.details && typeof r.details === 'object' ? r.details : {},
      fix_id: r.fix_id ?? null,
    }));
}

export async function runDaemon(ctx: PluginContext<DaemonConfig>, input: CommandInput): Promise<number> {
  const o = input.options;
  const logFormat = (o.logFormat ?? 'text') as string;
  if (logFormat !== 'text' && logFormat !== 'json')
    throw new CxError('CX_ERR_USAGE', {
      detail: `--log-format must be text or json, not '${logFormat}'`,
      hint: 'cx-ops daemon --help',
      plugin: 'daemon',
    });
  const once = Boolean(o.once);
  // SIGTERM/SIGINT from the first moment (the launcher held one that came while the kernel
  // booted): one during start-up ends it after the step in progress, with the same clean exit 0.
  // After the first, they act as by default (a second one kills). --once keeps their defaults.
  let stopSignal: string | undefined;
  let resolveStop: (sig: string) => void = () => undefined;
  const stopRequested = new Promise<string>((resolve) => (resolveStop = resolve));
  let giveBack = () => undefined as void;
  if (once) releaseStopSignals();
  else
    giveBack = takeStopSignals((sig) => {
      if (stopSignal) return;
      stopSignal = sig;
      giveBack();
      resolveStop(sig);
    });
  // SIGHUP during start-up reloads once start-up is done (its default action would kill).
  let reload: (() => Promise<void>) | undefined;
  let hupPending = false;
  const onHup = () => {
    if (stopSignal) return;
    if (reload) void reload();
    else hupPending = true;
  };
  if (!once) process.on('SIGHUP', onHup);
  try {
    return await runDaemonSignalled(ctx, input, {
      stopSignal: () => stopSignal,
      stopRequested,
      setReload: (fn) => {
        reload = fn;
        if (hupPending) void fn();
      },
    });
  } finally {
    process.off('SIGHUP', onHup);
    giveBack();
  }
}

async function runDaemonSignalled(
  ctx: PluginContext<DaemonConfig>,
  input: CommandInput,
  signals: {
    stopSignal(): string | undefined;
    stopRequested: Promise<string>;
    setReload(fn: () => Promise<void>): void;
  },
): Promise<number> {
  const o = input.options;
  const logFormat = (o.logFormat ?? 'text') as LogFormat;
  const once = Boolean(o.once);
  let settings = readSettings(ctx.config, ctx.env);
  let token = once ? undefined : await readToken(ctx, settings);
  // No forced collection while requests come in (none within the last 200 ms): see heap-trim.ts.
  const trimHeap = once ? () => undefined : heapTrimmer(() => server?.servedWithin(200) ?? false);
  const metrics = new DaemonMetrics((plugin, why) =>
    log.warn('metric_rejected', `a metric sample of plugin '${plugin}' was dropped: ${why}`, undefined, plugin),
  );
  const state = new DaemonState(settings.intervalMs);
  let history: HistoryStore | undefined;
  let historyFailing = false;
  const log = new EventLog({
    format: logFormat as LogFormat,
    write: (line) => ctx.io.err(line),
    perPluginPerMinute: settings.config.log_lines_per_minute,
    onSuppressed: (plugin) => metrics.logSuppressed.inc({ plugin }),
    onEvent: (e) => {
      state.publish('event', e);
      if (history && e.type !== 'history_write_failed')
        writeHistory(
          () =>
            history!.addEvent(Date.parse(e.ts), {
              level: e.level,
              type: e.type,
              plugin: e.plugin,
              message: e.message,
              data: e.data,
            }),
          1,
        );
    },
  });
  /** A history write that fails (disk full, I/O error) is counted and said once; the daemon goes on. */
  const writeHistory = (fn: () => void, records: number) => {
    try {
      fn();
      // Only a cycle's results getting through again counts as recovered (a lone event may fit where they did not).
      if (historyFailing && records > 1) {
        historyFailing = false;
        log.info('history_write_ok', 'the history store accepts writes again');
      }
    } catch (e) {
      metrics.historyErrors.inc(records);
      if (!historyFailing) {
        historyFailing = true;
        log.error(
          'history_write_failed',
          `could not write to the history store ${history?.file} (${messageOf(e)}); checks go on running and being served, their history is not kept until it can write again`,
          { code: (e as { code?: string }).code ?? null },
        );
      }
    }
  };

  // The history store.
  const dbFile = join(ctx.env.dataDir, 'history.db');
  try {
    await ctx.localFs.mkdir(ctx.env.dataDir);
    const opened = await HistoryStore.open(dbFile, ctx.localFs);
    history = opened.store;
    if (settings.config.history.max_file_mb) history.limitBytes(settings.config.history.max_file_mb * 1024 * 1024);
    setActiveHistory(history);
    if (opened.movedAside)
      log.warn(
        'history_corrupt',
        `the history database was corrupt (${opened.movedAside.reason}); it was moved to ${opened.movedAside.to} and a fresh one started`,
        { moved_to: opened.movedAside.to },
      );
  } catch (e) {
    log.error(
      'history_unavailable',
      `the history store ${dbFile} cannot be opened (${messageOf(e)}); running without history`,
    );
  }

  const notifier = systemdNotifier(ctx.exec, process.env, process.pid);
  let gen: Generation;

  // eslint-disable-next-line prefer-const -- assigned once start-up gets that far; the closures defined before read it
  let server: DaemonHttpServer | undefined;
  let listening: { host: string; port: number } | undefined;
  let readySent = false;
  let panels: Array<PanelOutput & { id: string; plugin: string }> = [];

  const onSchedulerEvent = (e: SchedulerEvent) => {
    if (e.type === 'job_start') return;
    if (e.type === 'job_end') {
      metrics.cyclesTotal.inc({ job: e.job, outcome: 'ok' });
      metrics.cycleDuration.observe({ job: e.job }, e.duration_ms / 1000);
      metrics.lastCycle.set({ job: e.job }, Date.now() / 1000);
      log.info(
        'cycle_end',
        `job '${e.job}' cycle ${e.cycle} done in ${Math.round(e.duration_ms)}ms`,
        { job: e.job, cycle: e.cycle, duration_ms: Math.round(e.duration_ms) },
        null,
      );
    } else if (e.type === 'job_skipped') {
      metrics.cyclesSkipped.inc({ job: e.job });
      log.warn(
        'cycle_skipped',
        `job '${e.job}' tick ${e.cycle} skipped: its previous run is still going (${e.skipped} skipped so far)`,
        { job: e.job, cycle: e.cycle, skipped: e.skipped },
      );
    } else if (e.type === 'job_timeout') {
      metrics.cyclesTotal.inc({ job: e.job, outcome: 'timeout' });
      metrics.pluginFailures.inc({ plugin: e.plugin });
      log.error(
        'cycle_timeout',
        `job '${e.job}' of plugin '${e.plugin}' passed its deadline of ${e.deadline_ms / 1000}s in cycle ${e.cycle}; the next cycle starts on time`,
        { job: e.job, cycle: e.cycle },
        null,
      );
    } else if (e.type === 'job_failed') {
      metrics.cyclesTotal.inc({ job: e.job, outcome: 'failed' });
      metrics.pluginFailures.inc({ plugin: e.plugin });
      log.error(
        'cycle_failed',
        `job '${e.job}' of plugin '${e.plugin}' failed in cycle ${e.cycle}: ${e.error}`,
        { job: e.job, cycle: e.cycle },
        null,
      );
    }
  };

  /** What a job run produced: results to history, metrics and (health jobs) /health; events to the log. */
  const absorb = async (
    registry: RegistryCapability,
    job: { id: string; plugin: string; health: boolean },
    cycle: number,
    started: number,
    out: JobOutput | null,
  ) => {
    const results = resultsOf(out);
    const ended = Date.now();
    if (out && out.metrics !== undefined) metrics.plugins.record(job.plugin, out.metrics);
    if (results.length) {
      metrics.observeResults(results);
      if (history) writeHistory(() => history!.addResults(ended, cycle, job.id, results), results.length);
    }
    // Retention (daemon.history): by age, then by size, every tenth run of a health job.
    if (history && job.health && cycle % 10 === 1) {
      const h = gen.settings.config.history;
      writeHistory(() => void history!.prune(ended, h.retention_days * 86_400_000, h.max_mb * 1024 * 1024), 0);
    }
    const recorded: RecordedEvent[] = [];
    for (const ev of out && Array.isArray(out.events) ? out.events.slice(0, 10_000) : []) {
      if (!ev || typeof ev.message !== 'string') continue;
      const level = ev.level === 'warn' || ev.level === 'error' ? ev.level : 'info';
      const type = jobEventType(job.plugin, ev.type);
      const data = ev.data && typeof ev.data === 'object' && !Array.isArray(ev.data) ? ev.data : undefined;
      log.emit(level, type, ev.message, data, job.plugin);
      recorded.push({ ts: ended, level, type, plugin: job.plugin, message: ev.message, ...(data ? { data } : {}) });
    }
    // Plugins act on the events when they happen (alerts' event rules), not at the next cycle.
    if (recorded.length) {
      const fired = await registry.callHook(daemonEventsHook, { events: recorded });
      for (const e of fired.errors) log.warn('hook_failed', e.message, { code: e.code }, e.plugin);
    }
    if (job.health) {
      const prev = state.last ? new Map(state.last.results.map((r) => [r.check_id, r.status])) : undefined;
      state.last = {
        cycle,
        started_at: started,
        ended_at: ended,
        duration_ms: ended - started,
        results,
        checks: out?.checks ?? {},
      };
      for (const r of results) {
        const was = prev?.get(r.check_id);
        if (prev && was !== r.status)
          log.emit(
            r.status === 'FAIL' || r.status === 'ERROR' ? 'warn' : 'info',
            'check_changed',
            `${r.check_id}: ${was ?? 'new'} -> ${r.status}: ${r.message}`,
            { check: r.check_id, from: was ?? null, to: r.status },
          );
      }
      state.publish('cycle', api.checksBody());
      // Plugins act on the cycle (alerts); a tap that throws or hangs is reported by the kernel, never fatal.
      const fired = await registry.callHook(cycleEndHook, { cycle, ts: ended, results, checks: out?.checks ?? {} });
      for (const e of fired.errors) log.warn('hook_failed', e.message, { code: e.code }, e.plugin);
      // Not awaited: a panel that hangs must not hold the checks job past its deadline.
      void refreshPanels(registry);
      if (!readySent && (listening || once)) {
        readySent = true;
        void notifier.notify({ READY: '1', STATUS: `cycle ${cycle}: ${STATUS_WORD[state.health().status]}` });
      } else void notifier.notify({ STATUS: `cycle ${cycle}: ${STATUS_WORD[state.health().status]}` });
      lastHealthTick = Date.now();
      trimHeap();
    }
  };

  /**
   * Asks every panel at once, each under min(5 s, the interval); one refresh at a time (a tick
   * that finds the previous refresh still waiting on a hung panel leaves it be).
   */
  let refreshing = false;
  const refreshPanels = async (registry: RegistryCapability) => {
    if (refreshing) return;
    refreshing = true;
    try {
      const list = await registry.list('dashboard-panel');
      const timeoutMs = Math.min(5000, state.intervalMs);
      const got = await Promise.all(
        list.map(async (p) => {
          try {
            const out = panelOutputOf(await registry.invoke('dashboard-panel', p.id, null, { timeoutMs }));
            return out && Array.isArray(out.items)
              ? {
                  id: p.id,
                  plugin: p.plugin,
                  title: typeof p.meta.title === 'string' ? p.meta.title : (out.title ?? p.id),
                  items: out.items.slice(0, 100),
                }
              : undefined;
          } catch (e) {
            metrics.pluginFailures.inc({ plugin: p.plugin });
            log.warn('panel_failed', `dashboard panel '${p.id}' failed: ${messageOf(e)}`, undefined, p.plugin);
            return undefined;
          }
        }),
      );
      panels = got.filter((p): p is NonNullable<typeof p> => Boolean(p));
      if (list.length) state.publish('panels', { panels });
    } catch (e) {
      log.warn('panel_failed', `the dashboard panels could not be listed: ${messageOf(e)}`);
    } finally {
      refreshing = false;
    }
  };

  /** A scheduler over the registry's jobs. */
  const makeGeneration = async (
    registry: RegistryCapability,
    s: DaemonSettings,
    shutdown?: () => Promise<void>,
  ): Promise<Generation> => {
    const scheduler = new Scheduler(onSchedulerEvent);
    for (const p of metrics.plugins.sync(await registry.list(daemonMetricKind))) {
      log.warn(
        'metric_invalid',
        `metric '${p.metric}' of plugin '${p.plugin}' is not registered: ${p.problem}`,
        undefined,
        p.plugin,
      );
    }
    for (const j of await registry.list(daemonJobKind)) {
      const interval = j.meta.interval === 'ask' ? await askInterval(registry, j, s) : j.meta.interval;
      const intervalMs = interval === null || interval === undefined ? s.intervalMs : parseDuration(interval);
      if (!intervalMs || intervalMs < 1000) {
        log.warn(
          'job_invalid',
          `job '${j.id}' of plugin '${j.plugin}' has an interval below 1s or malformed (${JSON.stringify(interval)}); it is not scheduled`,
          undefined,
          j.plugin,
        );
        continue;
      }
      const deadlineMs =
        typeof j.meta.deadline_seconds === 'number' ? j.meta.deadline_seconds * 1000 : Math.round(intervalMs * 0.9);
      const job = { id: j.id, plugin: j.plugin, health: j.meta.health === true && j.plugin === ctx.plugin };
      const wants = historyWanted(j.meta.history);
      scheduler.add({
        id: j.id,
        plugin: j.plugin,
        intervalMs,
        deadlineMs,
        run: async (cycle) => {
          const started = Date.now();
          const input: JobInput = { cycle, interval_ms: intervalMs, deadline_ms: deadlineMs };
          if (wants) input.history = { results: readHistory(wants) };
          const out = jobOutputOf(await registry.invoke(daemonJobKind, j.id, input, { timeoutMs: deadlineMs }));
          await absorb(registry, job, cycle, started, out);
        },
      });
    }
    return { registry, settings: s, scheduler, shutdown, services: await registry.list('daemon-service') };
  };

  /** The interval a job with meta interval 'ask' answers when invoked with { schedule: true } (its plugin's own setting). */
  const askInterval = async (registry: RegistryCapability, j: ContributionInfo, s: DaemonSettings): Promise<Json> => {
    const input: JobInput = { cycle: 0, interval_ms: s.intervalMs, deadline_ms: 10_000, schedule: true };
    try {
      const a: unknown = await registry.invoke(daemonJobKind, j.id, input, { timeoutMs: 10_000 });
      const v = a && typeof a === 'object' ? (a as { interval?: unknown }).interval : undefined;
      return typeof v === 'string' || typeof v === 'number' || v === null ? v : 'malformed';
    } catch (e) {
      log.warn(
        'job_invalid',
        `job '${j.id}' of plugin '${j.plugin}' did not say its interval: ${messageOf(e)}`,
        undefined,
        j.plugin,
      );
      return 'malformed';
    }
  };

  /** A job's meta `history` ({ since, check?, limit? }), or undefined. */
  const historyWanted = (m: Json | undefined): { sinceMs: number; check?: string; limit: number } | undefined => {
    if (!m || typeof m !== 'object' || Array.isArray(m) || typeof m.since !== 'string') return undefined;
    const sinceMs = parseDuration(m.since);
    if (sinceMs === undefined) return undefined;
    return {
      sinceMs,
      ...(typeof m.check === 'string' ? { check: m.check } : {}),
      limit: typeof m.limit === 'number' ? Math.min(m.limit, 1000) : 100,
    };
  };
  const readHistory = (w: { sinceMs: number; check?: string; limit: number }) => {
    try {
      return history ? history.results({ check: w.check, since: Date.now() - w.sinceMs, limit: w.limit }) : [];
    } catch {
      return []; // an unreadable store is said where it fails to write; a job just sees no history
    }
  };

  /** Starts (or stops) the generation's daemon-service contributions; what they return as events is logged. */
  const signalServices = async (g: Generation, input: { start: true; interval_ms: number } | { stop: true }) => {
    for (const svc of g.services) {
      try {
        const out = jobOutputOf(await g.registry.invoke('daemon-service', svc.id, input, { timeoutMs: 10_000 }));
        for (const ev of out && Array.isArray(out.events) ? out.events.slice(0, 100) : []) {
          if (ev && typeof ev.message === 'string')
            log.emit(
              ev.level === 'warn' || ev.level === 'error' ? ev.level : 'info',
              jobEventType(svc.plugin, ev.type),
              ev.message,
              undefined,
              svc.plugin,
            );
        }
      } catch (e) {
        metrics.pluginFailures.inc({ plugin: svc.plugin });
        log.error(
          'service_failed',
          `service '${svc.id}' of plugin '${svc.plugin}' failed to ${'stop' in input ? 'stop' : 'start'}: ${messageOf(e)}`,
          undefined,
          svc.plugin,
        );
      }
    }
  };

  const api = apiRoutes({
    state,
    metrics,
    log,
    history: () => history,
    jobs: () => gen.scheduler.stats(),
    panels: () => panels,
    info: () => ({
      version: ctx.env.kernelVersion,
      pid: process.pid,
      started_at: new Date(state.startedAt).toISOString(),
      interval_seconds: state.intervalMs / 1000,
      listen: listening ? `${listening.host}:${listening.port}` : null,
      history: history ? history.file : null,
      reloads: reloads,
    }),
  });
  let reloads = 0;
  let lastHealthTick = Date.now();

  gen = await makeGeneration(ctx.registry, settings);
  setActiveMetrics(metrics.plugins);

  if (once) {
    // One run of every job, in order, then the answer.
    await gen.scheduler.runAllOnce();
    history?.close();
    setActiveHistory(undefined);
    setActiveMetrics(undefined);
    const h = state.health();
    if (o.json) ctx.io.out(`${JSON.stringify({ health: h, ...api.checksBody() }, null, 2)}\n`);
    else
      ctx.io.out(
        `${h.status}: ${Object.entries(h.checks)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}\n`,
      );
    return h.status === 'healthy' ? 0 : 1;
  }

  /** Stops what start-up started so far (in reverse), then the exit: 0. */
  let servicesStarted = false;
  let watchdog: NodeJS.Timeout | undefined;
  const stop = async (signal: string) => {
    // Sent while the shutdown proceeds, and awaited before the daemon exits: a helper still running
    // at exit would be killed with the process's children, and systemd would never hear of it.
    const stopping = notifier.notify({ STOPPING: '1' });
    log.info('stopping', `${signal}: finishing in-flight work (up to ${gen.settings.config.grace_seconds}s)`);
    if (watchdog) clearInterval(watchdog);
    const finished = await gen.scheduler.stop(gen.settings.config.grace_seconds * 1000);
    if (!finished)
      log.warn(
        'cancelled',
        `in-flight work did not finish within ${gen.settings.config.grace_seconds}s and was cancelled`,
      );
    if (servicesStarted) await signalServices(gen, { stop: true });
    if (server) await server.close();
    log.info('stopped', 'stopped', { cycles: state.last?.cycle ?? 0 });
    history?.close();
    setActiveHistory(undefined);
    setActiveMetrics(undefined);
    await gen.shutdown?.().catch(() => undefined);
    const told = await stopping;
    if (!told.ok) log.warn('notify_failed', `systemd was not told STOPPING=1: ${told.error}`);
    return 0;
  };
  let early = signals.stopSignal();
  if (early) return stop(early);

  // The HTTP face comes up before the first cycle; READY=1 waits for both.
  server = new DaemonHttpServer(api.routes, httpLimits(settings, token));
  try {
    listening = await server.listen(settings.listen.host, settings.listen.port);
  } catch (e) {
    history?.close();
    setActiveHistory(undefined);
    setActiveMetrics(undefined);
    const code = (e as { code?: string }).code;
    if (code === 'EADDRINUSE')
      throw new CxError('CX_ERR_PORT_IN_USE', {
        address: `${settings.listen.host}:${settings.listen.port}`,
        holder: await portHolder(ctx.exec, settings.listen.port),
        file: settings.configFile,
        plugin: 'daemon',
      });
    if (code === 'EADDRNOTAVAIL' || code === 'EACCES')
      throw new CxError('CX_ERR_CONFIG_INVALID', {
        file: settings.configFile,
        field: 'daemon.listen',
        detail: `cannot be listened on: ${messageOf(e)}`,
        found: settings.config.listen,
        plugin: 'daemon',
      });
    throw e;
  }
  log.info(
    'listening',
    `serving http://${listening.host.includes(':') ? `[${listening.host}]` : listening.host}:${listening.port}/ (health, metrics, API, dashboard)${token ? '; a bearer token is required' : ''}`,
    { host: listening.host, port: listening.port, token: Boolean(token) },
  );
  if ((early = signals.stopSignal())) return stop(early);
  servicesStarted = true;
  await signalServices(gen, { start: true, interval_ms: settings.intervalMs });
  if ((early = signals.stopSignal())) return stop(early);
  gen.scheduler.start();

  // Watchdog: pinged at half systemd's period while the checks job keeps its schedule.
  const armWatchdog = () => {
    if (watchdog) clearInterval(watchdog);
    watchdog = undefined;
    if (!notifier.watchdogUsec || !gen.settings.config.watchdog) return;
    watchdog = setInterval(
      () => {
        const onTime = Date.now() - lastHealthTick <= 2 * gen.settings.intervalMs + 5000;
        if (onTime) void notifier.notify({ WATCHDOG: '1' });
        else
          log.warn(
            'watchdog_withheld',
            `no checks cycle finished for ${Math.round((Date.now() - lastHealthTick) / 1000)}s: watchdog ping withheld`,
          );
      },
      Math.max(500, notifier.watchdogUsec / 2000),
    );
  };
  armWatchdog();

  let reloading = false;
  const reload = async () => {
    if (reloading) return;
    reloading = true;
    log.info('reload', 'SIGHUP: reading config.yaml and plugin state again');
    try {
      if (!ctx.plugins.reload) throw new Error('this kernel cannot reload plugins');
      const next = await ctx.plugins.reload();
      const refused = next.errors.filter((e) => e.code === 'CX_ERR_CONFIG_INVALID' || e.plugin === ctx.plugin);
      let s: DaemonSettings;
      let t: string | undefined;
      try {
        if (refused.length) throw new Error(refused.map((e) => `error[${e.code}]: ${e.message}`).join('\n'));
        s = readSettings(next.config(ctx.plugin) as DaemonConfig, ctx.env);
        t = await readToken({ ...ctx, config: s.config }, s);
      } catch (e) {
        await next.shutdown();
        throw e;
      }
      for (const e of next.errors) log.warn('plugin_boot_failed', e.message, { code: e.code }, e.plugin ?? null);
      const old = gen;
      await old.scheduler.stop(old.settings.config.grace_seconds * 1000);
      await signalServices(old, { stop: true });
      gen = await makeGeneration(next.registry, s, next.shutdown);
      settings = s;
      token = t;
      state.intervalMs = s.intervalMs;
      log.setRate(s.config.log_lines_per_minute);
      server!.update(httpLimits(s, t));
      if (s.config.listen !== old.settings.config.listen)
        log.warn(
          'listen_unchanged',
          `daemon.listen changed to ${s.config.listen}: the listener stays on ${listening!.host}:${listening!.port} until the daemon restarts`,
        );
      await signalServices(gen, { start: true, interval_ms: s.intervalMs });
      gen.scheduler.start();
      armWatchdog();
      reloads++;
      metrics.reloads.inc({ outcome: 'ok' });
      log.info('reloaded', `reloaded: ${gen.scheduler.stats().length} job(s), interval ${s.intervalMs / 1000}s`, {
        jobs: gen.scheduler.stats().map((j) => j.id),
        interval_seconds: s.intervalMs / 1000,
      });
      await old
        .shutdown?.()
        .catch((e: unknown) =>
          log.warn('shutdown_failed', `the previous kernel did not shut down cleanly: ${messageOf(e)}`),
        );
    } catch (e) {
      metrics.reloads.inc({ outcome: 'refused' });
      log.error('reload_refused', `the new configuration is refused, the running one is kept: ${messageOf(e)}`);
    } finally {
      reloading = false;
    }
  };

  signals.setReload(reload);
  return stop(await signals.stopRequested);
}
