/**
 * A full garbage collection once the heap has grown by `growthBytes` since the last one. V8 lets a
 * process that allocates in short bursts (a checks cycle every few seconds) pile garbage up in its
 * old generation for minutes before its first mark-compact; the RSS shows it (+14 MB over 80
 * one-second cycles, all of it garbage: with a full collection now and then the heap in use stays
 * at ~14 MB and the RSS flat). One collection of that heap costs a few milliseconds, up to ~20 ms
 * on a busy machine, all of it with the event loop stopped: while HTTP requests keep coming (a
 * flood of scrapers) it is left to V8's own, incremental collector, so that no request waits on it.
 */
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Returns the check to call after each cycle (a no-op where V8 does not expose gc); `busy()` says
 * whether requests are being served right now (then no collection is forced).
 */
export function heapTrimmer(busy: () => boolean = () => false, growthBytes = 2 * 1024 * 1024): () => void {
  let gc: (() => void) | undefined;
  try {
    // The flag exposes gc() to contexts created after it, here a throwaway one: not to plugins' globals.
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  } catch {
    gc = undefined;
  }
  let base = getHeapStatistics().used_heap_size;
  return () => {
    if (!gc || busy() || getHeapStatistics().used_heap_size - base < growthBytes) return;
    gc();
    base = getHeapStatistics().used_heap_size;
  };
}
