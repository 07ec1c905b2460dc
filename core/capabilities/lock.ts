/**
 * ctx.lock: the one lock (core/lock.ts) as a capability. Lock names are shared by all plugins
 * of one data directory (`<dataDir>/locks/<name>.lock`), so two plugins that change the same
 * thing can keep each other out; a sandboxed plugin's names are prefixed with its own name.
 * Audited; nothing is taken in a dry run (the take is recorded), unless the lock guards state the
 * plugin keeps in a dry run too (`inDryRun`).
 */
import type { HeldLock, LockOptions } from '../../sdk/types.js';
import { CxError } from '../errors.js';
import { takeLock } from '../lock.js';
import type { Guard } from './guard.js';

const NAME = /^[a-z0-9][a-z0-9._-]{0,99}$/i;

/** The lock capability of one plugin. */
export function createLock(guard: Guard, lockDir: string): (name: string, options?: LockOptions) => Promise<HeldLock> {
  return (name, options = {}) =>
    guard.call(
      { capability: 'fs', op: 'lock', target: String(name), args: { waitMs: options.waitMs } },
      async (allow) => {
        if (typeof name !== 'string' || !NAME.test(name) || name.includes('..')) {
          throw new CxError('CX_ERR_USAGE', {
            detail: `lock name '${String(name)}' is not valid: use letters, digits, '.', '_' and '-' (up to 100), e.g. ctx.lock('update')`,
          });
        }
        const full = guard.checked ? `${guard.plugin}.${name}` : name;
        allow();
        if (guard.dryRun && options.inDryRun !== true) {
          guard.record(`lock: ${full}`);
          return { name: full, release: async () => undefined };
        }
        const command = options.what
          ? `cx-ops ${String(options.what)}`
          : `cx-ops ${process.argv.slice(2).join(' ')}`.trim();
        const waitMs = Math.min(Math.max(0, Number(options.waitMs) || 0), 10 * 60_000);
        const lock = await takeLock(`${lockDir}/${full}.lock`, { what: `lock '${full}'`, command, waitMs });
        let released = false;
        return {
          name: full,
          release: async () => {
            if (released) return;
            released = true;
            await lock.release();
          },
        };
      },
    );
}
