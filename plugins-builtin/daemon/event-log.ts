/**
 * The daemon's event log: one line per event on stderr (text, or JSON for journald/Loki with
 * `--log-format json`), the recent ones kept for the API and the dashboard, every one offered to
 * the history store. Control characters from plugin output are escaped, so nothing a plugin says
 * can drive the terminal. Lines attributed to a plugin are rate-limited per plugin; what the
 * limit drops is counted and summarised once a minute.
 */

export type LogLevel = 'info' | 'warn' | 'error';
export type LogFormat = 'text' | 'json';

export interface DaemonEvent {
  ts: string;
  level: LogLevel;
  type: string;
  plugin: string | null;
  message: string;
  data?: Record<string, unknown>;
}

export interface EventLogOptions {
  format: LogFormat;
  write: (line: string) => void;
  /** Lines per minute a plugin may produce. */
  perPluginPerMinute: number;
  now?: () => number;
  /** Called with every event that is kept (history, SSE). */
  onEvent?: (e: DaemonEvent) => void;
  /** Called when a plugin's line is dropped by the rate limit. */
  onSuppressed?: (plugin: string) => void;
}

const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g;

/** Escapes control characters (ESC, CR, BEL, …) as \xNN / \uNNNN; newlines become \n. */
export function escapeControl(s: string): string {
  return s.replace(/\n/g, '\\n').replace(CONTROL, (c) => {
    const n = c.charCodeAt(0);
    return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
}

export class EventLog {
  readonly recent: DaemonEvent[] = [];
  private readonly windows = new Map<string, { start: number; count: number; dropped: number }>();
  private readonly now: () => number;

  constructor(private options: EventLogOptions) {
    this.now = options.now ?? Date.now;
  }

  setFormat(format: LogFormat): void {
    this.options = { ...this.options, format };
  }

  setRate(perMinute: number): void {
    this.options = { ...this.options, perPluginPerMinute: perMinute };
  }

  info(type: string, message: string, data?: Record<string, unknown>, plugin: string | null = null): void {
    this.emit('info', type, message, data, plugin);
  }

  warn(type: string, message: string, data?: Record<string, unknown>, plugin: string | null = null): void {
    this.emit('warn', type, message, data, plugin);
  }

  error(type: string, message: string, data?: Record<string, unknown>, plugin: string | null = null): void {
    this.emit('error', type, message, data, plugin);
  }

  emit(
    level: LogLevel,
    type: string,
    message: string,
    data?: Record<string, unknown>,
    plugin: string | null = null,
  ): void {
    const t = this.now();
    if (plugin && !this.admit(plugin, t)) return;
    const e: DaemonEvent = {
      ts: new Date(t).toISOString(),
      level,
      type,
      plugin,
      message: String(message).slice(0, 4096),
      ...(data ? { data } : {}),
    };
    this.recent.push(e);
    if (this.recent.length > 200) this.recent.splice(0, this.recent.length - 200);
    this.options.write(this.format(e));
    this.options.onEvent?.(e);
  }

  private format(e: DaemonEvent): string {
    if (this.options.format === 'json') return `${JSON.stringify(e)}\n`;
    const data = e.data && Object.keys(e.data).length ? ` ${escapeControl(JSON.stringify(e.data))}` : '';
    return `${e.ts} ${e.level.padEnd(5)} ${e.type}${e.plugin ? ` [${e.plugin}]` : ''}: ${escapeControl(e.message)}${data}\n`;
  }

  /** Per-plugin fixed one-minute windows; the first line after a window that dropped some says how many. */
  private admit(plugin: string, t: number): boolean {
    let w = this.windows.get(plugin);
    if (!w || t - w.start >= 60_000) {
      const dropped = w?.dropped ?? 0;
      w = { start: t, count: 0, dropped: 0 };
      this.windows.set(plugin, w);
      if (dropped) {
        w.count++;
        const e: DaemonEvent = {
          ts: new Date(t).toISOString(),
          level: 'warn',
          type: 'log_suppressed',
          plugin,
          message: `${dropped} log line(s) of plugin '${plugin}' were dropped in the last minute (limit: daemon.log_lines_per_minute = ${this.options.perPluginPerMinute})`,
          data: { dropped },
        };
        this.recent.push(e);
        this.options.write(this.format(e));
        this.options.onEvent?.(e);
      }
    }
    if (w.count >= this.options.perPluginPerMinute) {
      w.dropped++;
      this.options.onSuppressed?.(plugin);
      return false;
    }
    w.count++;
    return true;
  }

  /** Lines dropped in the current window, per plugin (the API and tests). */
  suppressed(): Record<string, number> {
    return Object.fromEntries([...this.windows].filter(([, w]) => w.dropped).map(([p, w]) => [p, w.dropped]));
  }
}
