/**
 * SIGTERM and SIGINT for a command that stops on them itself (a command declared with
 * `stopSignals`, as the daemon is). The launcher holds both from its first line, so that one
 * arriving while the kernel boots or the command starts up is not the process's death: the
 * kernel releases them before any other command runs (a signal held meanwhile is raised again,
 * and the process dies of it as it would have), and the command takes them over with
 * `takeStopSignals`, which hands it a signal that came before it asked. The state lives on
 * globalThis: one per process, whichever copy of this module a plugin imported.
 */

type StopSignal = 'SIGTERM' | 'SIGINT';

interface Holder {
  held?: StopSignal;
  owner?: (signal: StopSignal) => void;
  listener: (signal: StopSignal) => void;
}

const KEY = Symbol.for('cx-ops.stop-signals');
const SIGNALS: StopSignal[] = ['SIGTERM', 'SIGINT'];

function holder(): Holder | undefined {
  return (globalThis as { [KEY]?: Holder })[KEY];
}

function drop(h: Holder): void {
  for (const s of SIGNALS) process.off(s, h.listener);
  delete (globalThis as { [KEY]?: Holder })[KEY];
}

/** From now on SIGTERM/SIGINT are held for the command (the launcher calls this first). */
export function holdStopSignals(): void {
  if (holder()) return;
  const h: Holder = {
    listener: (signal) => {
      if (h.owner) h.owner(signal);
      else h.held ??= signal;
    },
  };
  (globalThis as { [KEY]?: Holder })[KEY] = h;
  for (const s of SIGNALS) process.on(s, h.listener);
}

/**
 * For a command that does not stop on them itself: the signals act as by default again, and one
 * that came while they were held is raised again now. Does nothing once a command took them.
 */
export function releaseStopSignals(): void {
  const h = holder();
  if (!h || h.owner) return;
  drop(h);
  if (h.held) process.kill(process.pid, h.held);
}

/**
 * The caller stops on SIGTERM/SIGINT: `onStop` is called for each that arrives, and once (on a
 * later tick) for one that arrived while they were held. Returns the function that gives them
 * back (their default action again). Without a launcher holding them (a test calling the
 * command in-process), it listens for them itself.
 */
export function takeStopSignals(onStop: (signal: StopSignal) => void): () => void {
  let h = holder();
  if (!h) {
    holdStopSignals();
    h = holder()!;
  }
  const taken = h;
  taken.owner = onStop;
  const early = taken.held;
  taken.held = undefined;
  if (early) setImmediate(() => onStop(early));
  return () => {
    if (holder() === taken) drop(taken);
  };
}
