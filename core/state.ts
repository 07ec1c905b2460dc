/**
 * Which plugins are enabled, in which tier, with which grants: ${dataDir}/state.json, written
 * atomically under a lock so concurrent `plugins enable` runs cannot lose each other's change,
 * and checked against schemas/state.schema.json whenever it is read.
 */
import { join } from 'node:path';
import { parseStateFile, type StateFileKind } from '../sdk/state-file.js';
import type { Tier } from '../sdk/types.js';
import { writeFileAtomic } from './atomic.js';
import { takeLock } from './lock.js';
import { CxError } from './errors.js';
import { readRegularFile } from './read-file.js';
import { shippedValidator } from './schema.js';

export interface PluginState {
  enabled: boolean;
  tier?: Tier;
  /** Grant strings (see core/permissions): what the user allowed, within the manifest's request. */
  grants: string[];
  /** Read-only tier: no side-effecting capability at all. */
  readOnly?: boolean;
  /** Third-party plugins enabled trusted: the content hash of their files then (core/loader/tree-hash.ts). */
  trustedTree?: string;
  /** ISO time of the last change. */
  changedAt?: string;
}

export interface KernelState {
  version: 1;
  plugins: Record<string, PluginState>;
}

export const emptyState = (): KernelState => ({ version: 1, plugins: {} });

export function stateFile(dataDir: string): string {
  return join(dataDir, 'state.json');
}

/**
 * The state for a run that only reads: as readState, but a state file this user may not read
 * (an unprivileged NRPE agent, a root-owned 0700 /var/lib/cx) gives the defaults and a note
 * saying so, instead of an error on every command.
 */
export async function readStateForRun(dataDir: string): Promise<{ state: KernelState; note?: string }> {
  try {
    return { state: await readState(dataDir) };
  } catch (e) {
    const errno = e instanceof CxError ? (e.cause as NodeJS.ErrnoException | undefined)?.code : undefined;
    if (errno !== 'EACCES' && errno !== 'EPERM') throw e;
    const uid = process.getuid?.() ?? -1;
    return {
      state: emptyState(),
      note: `${stateFile(dataDir)} is not readable by this user (uid ${uid}): the plugins are at their defaults (built-ins on, third-party plugins off). Commands that change the host need root: run them with sudo; an unprivileged user may keep its own state with --data-dir DIR.`,
    };
  }
}

/** What state.json is, for the one state-file check (sdk/state-file.ts). */
const STATE_FILE: Omit<StateFileKind, 'validate'> = {
  what: 'cx-ops state file',
  schema: 'schemas/state.schema.json',
  consequence: 'the plugins are then at their defaults (built-ins on, third-party plugins off: enable them again)',
};

export async function readState(dataDir: string): Promise<KernelState> {
  const file = stateFile(dataDir);
  // A regular file under the cap (a FIFO or /dev/zero in its place is CX_ERR_IO, never a hang).
  const bytes = await readRegularFile(file);
  if (!bytes) return emptyState();
  return parseStateFile<KernelState>(bytes, file, { ...STATE_FILE, validate: shippedValidator('state.schema.json') });
}

/** Reads, changes and writes the state under its lock. */
export async function updateState(dataDir: string, change: (s: KernelState) => void): Promise<KernelState> {
  const lock = await takeLock(join(dataDir, 'state.lock'), {
    what: 'the plugin state',
    command: `cx-ops ${process.argv.slice(2).join(' ')}`.trim(),
    waitMs: 5_000,
  });
  try {
    const s = await readState(dataDir);
    change(s);
    await writeFileAtomic(stateFile(dataDir), `${JSON.stringify(s, null, 2)}\n`);
    return s;
  } finally {
    await lock.release();
  }
}
