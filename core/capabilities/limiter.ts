/**
 * Per-plugin bound on capability calls: at most `max` in flight, at most `queue` waiting; beyond
 * that a call is refused (CX_ERR_TOO_MANY_CALLS), so no plugin can exhaust file descriptors,
 * child processes or the libuv thread pool.
 */
import { CxError } from '../errors.js';

export class CallLimiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    readonly plugin: string,
    readonly max = 16,
    readonly queue = 256,
  ) {}

  /** Calls in flight and waiting (for tests and diagnostics). */
  get load(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.waiting.length };
  }

  /** Throws CX_ERR_TOO_MANY_CALLS when both the slots and the queue are full. */
  admit(action: string): void {
    if (this.active >= this.max && this.waiting.length >= this.queue) {
      throw new CxError('CX_ERR_TOO_MANY_CALLS', { plugin: this.plugin, max: this.max + this.queue, action });
    }
  }

  /** Runs `fn` when a slot is free (call admit() first to be refused synchronously). */
  async run<T>(action: string, fn: () => Promise<T>): Promise<T> {
    this.admit(action);
    if (this.active >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter; only when nobody waits is it freed.
      if (next) next();
      else this.active--;
    }
  }
}
