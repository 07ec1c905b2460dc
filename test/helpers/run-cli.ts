/** Runs the real cx-ops launcher in a throwaway root; used by the CLI tests. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

export const LAUNCHER = fileURLToPath(new URL('../../core/bin/cx-ops.js', import.meta.url));

export interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface TempRoot {
  root: string;
  /** How cx-ops names itself in the hints of these runs: `cx-ops --root ROOT`. */
  cx: string;
  run(args: string[], options?: { input?: string; env?: Record<string, string> }): Promise<CliRun>;
  cleanup(): Promise<void>;
}

/** A temp root; commands run with --root set to it and HOME inside it. */
export async function tempRoot(prefix = 'cx-cli-'): Promise<TempRoot> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  return {
    root,
    cx: `cx-ops --root ${root}`,
    async run(args, options = {}) {
      const r = await execa(process.execPath, ['--no-node-snapshot', LAUNCHER, '--root', root, ...args], {
        reject: false,
        input: options.input ?? '',
        env: { HOME: join(root, 'home'), NO_COLOR: '1', CX_PLUGIN_PATH: '', ...options.env },
        extendEnv: false,
        timeout: 60_000,
      });
      return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}
