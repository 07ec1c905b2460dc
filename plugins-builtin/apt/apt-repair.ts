/**
 * `repair apt`: finds and repairs lock conflicts, interrupted dpkg runs, broken dependencies,
 * corrupted package lists and cache problems with the real dpkg/apt tools of `ctx.env.root`.
 * The dpkg status file is copied first; `dpkg --audit` confirms afterwards.
 */
import { appendJournal, CxError, type ExecResult, type PluginContext } from 'cx-ops/sdk';
import { aptTools, aptUnavailable, failureLine, type AptTools } from './apt-tools.js';
import { dependencySuspects } from './dpkg-deps.js';
import { describeHolder, waitForLocks, type LockHolder } from './dpkg-locks.js';
import { corruptLists } from './list-sanity.js';

export type AptProblemId =
  'lock-held' | 'lock-stale' | 'interrupted' | 'broken-dependencies' | 'lists-corrupt' | 'cache';

export interface AptProblem {
  id: AptProblemId;
  description: string;
  /** What the repair does (or would do) about it. */
  fix: string[];
}

export interface AptRepairReport {
  /** ok: nothing wrong; repaired; failed: still wrong after repair; blocked: a live lock holder; skipped: no
   * dpkg/apt; declined: the plan was not confirmed. */
  status: 'ok' | 'repaired' | 'failed' | 'blocked' | 'skipped' | 'planned' | 'declined';
  dryRun: boolean;
  message: string;
  problems: AptProblem[];
  /** Actions taken, in order (in dry run: none). */
  actions: string[];
  holders: LockHolder[];
  /** Copy of the dpkg status file made before changing anything. */
  statusBackup: string | null;
  /** `dpkg --audit` output after the repair (empty when clean). */
  audit: string;
}

export interface AptRepairOptions {
  /** Only deal with locks (`repair apt --locks`). */
  locksOnly?: boolean;
  /** How long to wait for a live lock holder before giving up. */
  lockWaitMs?: number;
  /** Asked with the plan (the problems and their fixes) before anything changes; false stops. */
  confirm?: (plan: AptRepairReport) => Promise<boolean>;
}

/** `apt-get -s -f install` lines: what the dependency repair would remove and install. */
export function parseFixSimulation(text: string): { remove: string[]; install: string[] } {
  const remove: string[] = [];
  const install: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^(Remv|Inst) (\S+)(?: \[([^\]]+)\])?(?: \((\S+))?/.exec(line.trim());
    if (!m) continue;
    if (m[1] === 'Remv') remove.push(`${m[2]}${m[3] ? ` ${m[3]}` : ''}`);
    else install.push(`${m[2]}${m[4] ? ` ${m[4]}` : ''}`);
  }
  return { remove, install };
}

const LISTS_CORRUPT =
  /Unable to parse package file|could not be parsed or opened|Encountered a section with no Package|Problem parsing|lists .*corrupt|Malformed (line|entry)/i;
const CACHE_CORRUPT = /package cache file is corrupted|pkgcache\.bin|srcpkgcache\.bin/i;
const UNMET = /unmet dependencies|--fix-broken/i;

function stamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

/** Packages whose dpkg status is not a settled one (unpacked, half-configured, ...). */
export async function unsettledPackages(t: AptTools): Promise<string[]> {
  const r = await t.dpkgQuery(['-W', '-f', '${Package}\t${Status}\n'], { readOnly: true });
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('\t') as [string, string])
    .filter(
      ([, st]) =>
        !/ (installed|not-installed|config-files)$/.test(st ?? '') || /^(reinst-required|hold reinst)/.test(st ?? ''),
    )
    .map(([name, st]) => `${name} (${st.split(' ').pop()})`);
}

async function listFiles(ctx: PluginContext<unknown>, dir: string, keep: string[]): Promise<string[]> {
  if (!(await ctx.localFs.stat(dir))) return [];
  return (await ctx.localFs.readDir(dir))
    .filter((e) => e.type === 'file' && !keep.includes(e.name))
    .map((e) => `${dir}/${e.name}`);
}

/**
 * What `dpkg --audit` found, in one line that names the problem: dpkg's own error when the audit
 * itself failed (e.g. an unreadable journal file in updates/), else the audit's first heading and
 * the packages it lists. Empty when the audit is clean.
 */
export function auditSummary(audit: ExecResult): string {
  if (audit.exitCode !== 0) {
    const said = `${audit.stderr}\n${audit.stdout}`
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .join(' ');
    return `dpkg --audit failed (exit ${audit.exitCode}): ${said || 'no message'}`;
  }
  const lines = audit.stdout.split('\n');
  const packages = lines.filter((l) => /^ \S/.test(l)).map((l) => l.trim().split(/\s+/)[0]!);
  const heading =
    lines
      .find((l) => /^\S/.test(l))
      ?.trim()
      .replace(/[,:.]$/, '') ?? '';
  if (!heading && !packages.length) return '';
  return `${heading || 'dpkg --audit lists'}${packages.length ? `: ${packages.join(', ')}` : ''}`;
}

/**
 * Why `apt-get check` must run: the installed packages' relations it would find broken (checked
 * in-process from the status file) and the lists it could not parse. Empty: apt would find
 * nothing, and its check (seconds where apt's pkgcache is disabled) is not run.
 */
export async function aptCheckReasons(ctx: PluginContext<unknown>, t: AptTools): Promise<string[]> {
  // dpkg's arch file: the native architecture, then the foreign ones it is configured for.
  const archFile = `${t.paths.admindir}/arch`;
  const archs = (await ctx.localFs.stat(archFile))
    ? (await ctx.localFs.readFile(archFile)).split(/\s+/).filter(Boolean)
    : [];
  const [status, lists] = await Promise.all([
    ctx.localFs.readFile(t.paths.status).then(
      (text) => dependencySuspects(text, archs[0], archs.slice(1)).map((s) => `${s.package} ${s.field}: ${s.relation}`),
      (e: unknown) => [`${t.paths.status} was not read: ${e instanceof Error ? e.message : String(e)}`],
    ),
    corruptLists(ctx, t.paths.lists),
  ]);
  return [...status, ...lists];
}

/** Diagnoses what is wrong with dpkg/apt (everything it runs is read-only). */
export async function diagnoseApt(ctx: PluginContext<unknown>, t: AptTools): Promise<AptProblem[]> {
  const problems: AptProblem[] = [];
  const [audit, unsettled, reasons] = await Promise.all([
    t.dpkg(['--audit'], { readOnly: true }),
    unsettledPackages(t),
    aptCheckReasons(ctx, t),
  ]);
  // A failing audit (dpkg cannot read its database or its journal) is a problem too: dpkg says
  // what on stderr, with exit 2 and nothing on stdout.
  const found = auditSummary(audit);
  if (found || unsettled.length) {
    problems.push({
      id: 'interrupted',
      description: `interrupted dpkg run: ${audit.exitCode !== 0 ? found : unsettled.join(', ') || found}`,
      fix: [t.show('dpkg', ['--configure', '-a'])],
    });
  }
  // apt's own verdict and words whenever something looks wrong; nothing to ask it otherwise.
  if (!reasons.length) return problems.concat(await partialDownloads(ctx, t, null));
  const check = await t.aptGet(['check', '-q'], { readOnly: true });
  const said = `${check.stdout}\n${check.stderr}`;
  if (LISTS_CORRUPT.test(said)) {
    problems.push({
      id: 'lists-corrupt',
      description: `corrupted package lists: ${failureLine(check)}`,
      fix: [`remove the files in ${t.paths.lists}`, t.show('apt-get', ['update'])],
    });
  } else if (check.exitCode !== 0 && UNMET.test(said)) {
    const lines = said
      .split('\n')
      .filter((l) => /Depends:|PreDepends:|Breaks:|Conflicts:/.test(l))
      .map((l) => l.trim());
    // What apt would do, from its own simulation: the plan names every package removed or installed.
    const sim = parseFixSimulation((await t.aptGet(['-s', '-q', '-f', 'install'], { readOnly: true })).stdout);
    problems.push({
      id: 'broken-dependencies',
      description: `broken dependencies: ${lines.join('; ') || failureLine(check)}`,
      fix: [
        t.show('apt-get', ['-f', 'install', '-y']),
        `  installs: ${sim.install.join(', ') || 'nothing'}`,
        `  removes: ${sim.remove.join(', ') || 'nothing'}`,
      ],
    });
  }
  return problems.concat(await partialDownloads(ctx, t, CACHE_CORRUPT.test(said) ? check : null));
}

/** The cache problem: partial downloads left behind, or the cache apt's check said is corrupt. */
async function partialDownloads(
  ctx: PluginContext<unknown>,
  t: AptTools,
  corrupt: ExecResult | null,
): Promise<AptProblem[]> {
  // Dot files (a packaging .keep) are not downloads.
  const partial = (await listFiles(ctx, `${t.paths.archives}/partial`, [])).filter((f) => !/\/\.[^/]*$/.test(f));
  if (!partial.length && !corrupt) return [];
  return [
    {
      id: 'cache',
      description: partial.length
        ? `${partial.length} partial download(s) in ${t.paths.archives}/partial`
        : `package cache: ${failureLine(corrupt!)}`,
      fix: [t.show('apt-get', ['clean'])],
    },
  ];
}

/** Runs the repair (or, with ctx.env.dryRun, only plans it); one repair apt run at a time. */
export async function repairApt(ctx: PluginContext<unknown>, options: AptRepairOptions = {}): Promise<AptRepairReport> {
  const report: AptRepairReport = {
    status: 'ok',
    dryRun: ctx.env.dryRun,
    message: '',
    problems: [],
    actions: [],
    holders: [],
    statusBackup: null,
    audit: '',
  };
  const why = await aptUnavailable(ctx);
  if (why) return { ...report, status: 'skipped', message: why };
  let lock;
  try {
    lock = await ctx.lock('apt-repair', { what: `repair apt${options.locksOnly ? ' --locks' : ''}` });
  } catch (e) {
    if (!(e instanceof CxError) || e.code !== 'CX_ERR_STATE_LOCKED') throw e;
    return {
      ...report,
      status: 'blocked',
      holders: [{ path: e.params.path, pid: e.params.pid, command: e.params.command }],
      message: e.message,
    };
  }
  try {
    return await repairWith(ctx, report, options);
  } finally {
    await lock.release();
  }
}

async function repairWith(
  ctx: PluginContext<unknown>,
  report: AptRepairReport,
  options: AptRepairOptions,
): Promise<AptRepairReport> {
  const dryRun = ctx.env.dryRun;
  const t = aptTools(ctx);

  // 1. Locks: a live holder is waited for, then reported; never removed.
  const locks = await waitForLocks(ctx, t.paths.locks, options.lockWaitMs ?? 30_000, (h) =>
    ctx.io.err(
      `waiting up to ${Math.round((options.lockWaitMs ?? 30_000) / 1000)} s for: ${h.map(describeHolder).join('; ')}\n`,
    ),
  );
  if (locks.held.length) {
    report.holders = locks.held;
    report.problems.push({
      id: 'lock-held',
      description: `lock held by a live process: ${locks.held.map(describeHolder).join('; ')}`,
      fix: ['none: the lock is left alone; wait for that process to finish, then run the repair again'],
    });
    return {
      ...report,
      status: 'blocked',
      message: `dpkg/apt is busy: ${locks.held.map(describeHolder).join('; ')}. Not touching it; run again when it has finished.`,
    };
  }
  if (!options.locksOnly) report.problems.push(...(await diagnoseApt(ctx, t)));
  const real = [...report.problems];
  // Every dpkg run leaves its lock files behind and a lock nobody holds blocks nothing: they are
  // not problems. Only --locks (asked for by name) clears them.
  const staleLocks = options.locksOnly ? locks.stale : [];
  for (const f of staleLocks)
    report.problems.unshift({
      id: 'lock-stale',
      description: `stale lock file ${f} (no process holds it)`,
      fix: [`remove ${f}`],
    });
  if (!report.problems.length) return { ...report, message: 'apt and dpkg are healthy: nothing to repair' };
  if (dryRun) {
    return {
      ...report,
      status: 'planned',
      message: `dry run: ${report.problems.length} problem(s) found, nothing changed`,
    };
  }
  if (options.confirm && !(await options.confirm(report))) {
    return {
      ...report,
      status: 'declined',
      message: `not repaired: ${report.problems.length} problem(s) found and the plan was not confirmed; nothing changed`,
    };
  }

  // 2. Keep a copy of the dpkg status file before any change.
  if (real.length) {
    const backupDir = `${ctx.env.stateDir}/dpkg-status`;
    await ctx.localFs.mkdir(backupDir, { mode: 0o700 });
    report.statusBackup = `${backupDir}/status-${stamp()}`;
    // cp, not read+write: byte for byte whatever the encoding, and no size cap.
    const cp = await ctx.exec.run('cp', ['-p', t.paths.status, report.statusBackup], { timeoutMs: 60_000 });
    if (cp.exitCode !== 0)
      throw new Error(
        `could not copy ${t.paths.status} to ${report.statusBackup} (${cp.stderr.trim()}); nothing was changed`,
      );
    report.actions.push(`copied ${t.paths.status} to ${report.statusBackup}`);
    // Keep the last ten copies.
    const copies = (await ctx.localFs.readDir(backupDir))
      .map((e) => e.name)
      .filter((n) => n.startsWith('status-'))
      .sort();
    for (const old of copies.slice(0, Math.max(0, copies.length - 10))) await ctx.localFs.remove(`${backupDir}/${old}`);
  }

  // 3. Repairs, in an order where each makes the next one possible.
  const step = async (
    label: string,
    run: () => Promise<{ exitCode: number | null; stdout: string; stderr: string; command?: string }>,
  ) => {
    const r = await run();
    report.actions.push(`${label}${r.exitCode === 0 ? '' : ` (failed: ${failureLine(r as never)})`}`);
    return r.exitCode === 0;
  };
  for (const f of staleLocks) {
    await ctx.localFs.remove(f);
    report.actions.push(`removed stale lock ${f}`);
  }
  const has = (id: AptProblemId) => report.problems.some((p) => p.id === id);
  if (has('lists-corrupt')) {
    for (const f of await listFiles(ctx, t.paths.lists, ['lock'])) await ctx.localFs.remove(f);
    report.actions.push(`removed the package lists in ${t.paths.lists}`);
    await step(t.show('apt-get', ['update']), () => t.aptGet(['update', '-q']));
    // Lists were unreadable, so dependencies could not be checked before: check now.
    if (!has('broken-dependencies')) {
      const check = await t.aptGet(['check', '-q'], { readOnly: true });
      if (check.exitCode !== 0 && UNMET.test(`${check.stdout}\n${check.stderr}`)) {
        report.problems.push({
          id: 'broken-dependencies',
          description: `broken dependencies: ${failureLine(check)}`,
          fix: [t.show('apt-get', ['-f', 'install', '-y'])],
        });
      }
    }
  }
  if (has('cache')) await step(t.show('apt-get', ['clean']), () => t.aptGet(['clean']));
  if (has('interrupted')) await step(t.show('dpkg', ['--configure', '-a']), () => t.dpkg(['--configure', '-a']));
  if (has('broken-dependencies') || has('interrupted')) {
    const check = await t.aptGet(['check', '-q'], { readOnly: true });
    if (check.exitCode !== 0)
      await step(t.show('apt-get', ['-f', 'install', '-y']), () => t.aptGet(['-f', 'install', '-y', '-q']));
  }

  // 4. Confirm.
  const journal = async (r: AptRepairReport) => {
    await appendJournal(ctx, {
      run: 'repair apt',
      status: r.status,
      problems: r.problems.map((p) => p.id),
      actions: r.actions,
      statusBackup: r.statusBackup,
    });
    return r;
  };
  if (options.locksOnly)
    return journal({ ...report, status: 'repaired', message: `cleared ${staleLocks.length} stale lock file(s)` });
  const audit = await t.dpkg(['--audit'], { readOnly: true });
  const check = await t.aptGet(['check', '-q'], { readOnly: true });
  report.audit =
    audit.exitCode === 0 ? audit.stdout.trim() : `${audit.stderr}\n${audit.stdout}`.trim() || `exit ${audit.exitCode}`;
  const clean = !report.audit && check.exitCode === 0;
  if (clean)
    return journal({
      ...report,
      status: 'repaired',
      message: `repaired ${report.problems.length} problem(s); dpkg --audit reports nothing`,
    });
  const unsettled = audit.exitCode === 0 ? await unsettledPackages(t) : [];
  const what =
    audit.exitCode !== 0
      ? auditSummary(audit)
      : unsettled.length
        ? `packages not configured: ${unsettled.join(', ')}`
        : auditSummary(audit) || `apt-get check: ${failureLine(check)}`;
  // A journal file dpkg cannot parse stops every dpkg run, --configure -a included.
  const journalFile = /parsing file '([^']*\/updates\/[^']*)'/.exec(`${audit.stderr}`)?.[1];
  const next = journalFile
    ? `\n${journalFile} is a dpkg journal entry dpkg cannot parse: move it out of ${journalFile.replace(/\/[^/]*$/, '')} (keep the copy), then run: ${ctx.env.command} repair apt`
    : '';
  return journal({
    ...report,
    status: 'failed',
    message: `still broken after repair: ${what}; the dpkg status before the repair is in ${report.statusBackup}${next}`,
  });
}
