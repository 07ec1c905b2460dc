/**
 * Grant combinations that amount to "run any code": a write grant on a directory plus an exec
 * grant for a program that reads its configuration (or code) from the directory it runs in —
 * git's .git/config and hooks, make's Makefile, npm's package.json scripts and .npmrc, … The
 * plugin could plant that configuration and then run the program. Such a combination is refused
 * when grants are given unless the operator accepts it explicitly with `trust-config:<program>`.
 * Granted programs also run with the lookups the tool lets us turn off turned off (exec.ts
 * NEUTRAL_ENV), which narrows but does not close this door — hence the explicit confirmation.
 */
import { posix } from 'node:path';
import type { Grants } from './grants.js';

/** Program -> what it reads from its working directory (or a directory it is pointed at). */
export const CONFIG_READERS: Readonly<Record<string, string>> = Object.freeze({
  git: "a repository's .git/config, hooks and attributes (an alias, filter, pager or hook runs code)",
  make: 'the Makefile (its recipes are shell commands)',
  gmake: 'the Makefile (its recipes are shell commands)',
  npm: 'package.json scripts and .npmrc',
  npx: 'package.json and .npmrc',
  yarn: 'package.json scripts and .yarnrc',
  pnpm: 'package.json scripts and .npmrc',
  cargo: 'Cargo.toml build scripts and .cargo/config.toml',
  go: 'go.mod (a toolchain line downloads and runs another Go)',
  pip: 'setup.py / pyproject.toml build hooks and pip.conf',
  pip3: 'setup.py / pyproject.toml build hooks and pip.conf',
  python: 'modules beside the script it runs',
  python3: 'modules beside the script it runs',
  bundle: 'the Gemfile',
  rake: 'the Rakefile',
  composer: 'composer.json scripts',
  mvn: 'pom.xml plugins',
  gradle: 'build.gradle',
  ansible: 'ansible.cfg',
  'ansible-playbook': 'ansible.cfg',
  tox: 'tox.ini',
  just: 'the justfile',
  direnv: '.envrc',
});

/** One refused combination. */
export interface ConfigHazard {
  program: string;
  reads: string;
  /** The write grants that make the plant possible. */
  writable: string[];
}

const baseOf = (command: string): string => posix.basename(command).replace(/(?<=[a-z])[\d.]+$/, '');

/** The combinations in `g` that the operator has not accepted with `trust-config:<program>`. */
export function configHazards(g: Grants): ConfigHazard[] {
  if (g.write.length === 0) return [];
  const out: ConfigHazard[] = [];
  const seen = new Set<string>();
  for (const r of g.exec) {
    const program = baseOf(r.command);
    if (!Object.hasOwn(CONFIG_READERS, program) || seen.has(program) || (g.trustConfig ?? []).includes(program))
      continue;
    seen.add(program);
    out.push({ program, reads: CONFIG_READERS[program]!, writable: [...g.write] });
  }
  return out;
}
