/**
 * CapabilityFakes: what a harness test puts in place of ctx.exec, ctx.fs and ctx.net. Every
 * fake has one shape: an object holding some of the capability's own methods, with the same
 * names and arguments as on ctx. A method left out does the real thing. Grants, audit and
 * dry-run are checked before a fake is called, exactly as before a real call.
 *
 *   fakes: {
 *     exec: { run: async (command, args) => ({ exitCode: 0, stdout: 'active\n' }) },
 *     fs: { readFile: async (path) => '0.50 0.40 0.30 1/100 42\n' },
 *     net: { http: async (req) => ({ status: 200, headers: {}, body: 'ok', truncated: false }) },
 *   }
 */
import type { ExecOptions, ExecResult, FsCapability, NetCapability } from '../sdk/types.js';

/** A fake ctx.exec: `run` may return only the fields the test cares about (the rest default to a clean exit). */
export interface ExecFake {
  run?(command: string, args: string[], options: ExecOptions): Promise<Partial<ExecResult>>;
}

/** Fakes for the capabilities a test wants to control. */
export interface CapabilityFakes {
  exec?: ExecFake;
  fs?: Partial<FsCapability>;
  net?: Partial<NetCapability>;
}
