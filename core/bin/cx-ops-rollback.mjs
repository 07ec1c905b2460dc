#!/usr/bin/env node
// cx-ops-rollback: the emergency rollback of hotfix runs, for when cx-ops itself is broken.
// ONE self-contained file that needs nothing but Node (no plugins, no config, no node_modules):
// copy it anywhere and run it. It reads the same write-ahead journal and snapshot formats as
// the hotfix plugin (schemas/hotfix-journal.schema.json: <backup_dir>/runs/<id>/journal.jsonl)
// and performs the same undo actions (plugins-builtin/hotfix/undo.ts), journaling its progress
// there too, so `cx-ops hotfix rollback` and this tool can take over from each other.
//
//   cx-ops-rollback [--root R] [--backup-dir DIR] --list-snapshots [--json]
//   cx-ops-rollback [--root R] [--backup-dir DIR] --restore-snapshot ID [-y] [--json]
//   cx-ops-rollback --rollback-log FILE [-y] [--json]     (a run's journal.jsonl or its directory, or
//                                                      <backup_dir>/operations.json: its last run)
//
// It takes cx-ops' hotfix lock (<data_dir>/locks/hotfix.lock) while it works.
// Exit codes: 0 rolled back completely (or nothing to do), 1 not confirmed, 2 bad usage,
// 5 the rollback was incomplete (the journal keeps what remains; run it again) or a run is live.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { dirname, basename, join, resolve } from 'node:path';

const VERSION = 1;
const RUN_ID = /^\d{8}-\d{6}-[0-9a-f]{4}$/;

// Under --json every error is one JSON object on stdout, as cx-ops prints them.
const JSON_OUT = process.argv.slice(2).includes('--json');

function fail(code, message, exit) {
  if (JSON_OUT) process.stdout.write(`${JSON.stringify({ error: { code, message, exit } }, null, 2)}\n`);
  else process.stderr.write(`error[${code}]: ${message}\n`);
  process.exit(exit);
}

function usage(msg) {
  fail('CX_ERR_USAGE', `${msg}\nTry: cx-ops-rollback --help`, 2);
}

const HELP = `cx-ops-rollback: undo hotfix runs from their journal, without cx-ops.

  cx-ops-rollback [--root R] [--backup-dir DIR] --list-snapshots [--json]
  cx-ops-rollback [--root R] [--backup-dir DIR] --restore-snapshot ID [-y] [--json]
  cx-ops-rollback --rollback-log FILE [-y] [--json]

  --root R            the host's root (default /); --backup-dir is placed under it
  --backup-dir DIR    the modules' backup_dir (default /var/backups/hotfix)
  --data-dir DIR      cx-ops' data directory, for its lock (default <root>/var/lib/cx)
  --list-snapshots    list runs (snapshots) with their state
  --restore-snapshot  roll back run ID: every touched path back byte for byte
  --rollback-log FILE roll back the run whose journal.jsonl (or run directory) this is; given the
                      operation log <backup_dir>/operations.json, its newest run not rolled back
  -y, --yes           do not ask
  --json              print the result as JSON

Exit codes: 0 complete, 1 not confirmed, 2 bad usage, 5 incomplete (run it again once the cause is fixed).
`;

function parseArgs(argv) {
  const o = { root: '/', backupDir: '/var/backups/hotfix', yes: false, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => (i + 1 < argv.length ? argv[++i] : usage(`${a} needs a value`));
    if (a === '--help' || a === '-h') {
      process.stdout.write(HELP);
      process.exit(0);
    } else if (a === '--root') {
      o.root = val();
      o.rootGiven = true;
    } else if (a === '--backup-dir') o.backupDir = val();
    else if (a === '--data-dir') o.dataDir = val();
    else if (a === '--list-snapshots') o.list = true;
    else if (a === '--restore-snapshot') o.restore = val();
    else if (a === '--rollback-log') o.log = val();
    else if (a === '-y' || a === '--yes') o.yes = true;
    else if (a === '--json') o.json = true;
    else usage(`unknown argument '${a}'`);
  }
  if ([o.list, o.restore, o.log].filter(Boolean).length !== 1)
    usage('say what to do: --list-snapshots, --restore-snapshot ID or --rollback-log FILE');
  return o;
}

const hostPath = (root, p) => (root.replace(/\/+$/, '') || '') + (p.startsWith('/') ? p : `/${p}`);

// ---- journal -------------------------------------------------------------------------------

/** Records of a journal; a torn line (a crash mid-write) is skipped. */
function readJournal(file) {
  const text = fs.readFileSync(file, 'utf8');
  const out = [];
  for (const l of text.split('\n')) {
    if (!l) continue;
    try {
      out.push(JSON.parse(l));
    } catch {
      /* torn record */
    }
  }
  const newer = out.find((r) => typeof r.v === 'number' && r.v > VERSION);
  if (newer)
    throw new Error(
      `${file} is in journal format ${newer.v}; this cx-ops-rollback reads format ${VERSION}: use the cx-ops-rollback of the cx-ops that wrote it`,
    );
  return { records: out, torn: text !== '' && !text.endsWith('\n') };
}

function summarize(dir) {
  const file = join(dir, 'journal.jsonl');
  const { records, torn } = readJournal(file);
  const begin = records.find((r) => r.t === 'begin');
  const last = new Map();
  for (const r of records) if (r.t === 'intent' || r.t === 'undone') last.set(r.step, r.t);
  const to_undo = [...last]
    .filter(([, t]) => t === 'intent')
    .map(([s]) => s)
    .sort((a, b) => b - a);
  const end = [...records].reverse().find((r) => ['commit', 'rollback_end', 'rollback_begin', 'resume'].includes(r.t));
  let state = 'interrupted';
  if (end?.t === 'commit') state = 'applied';
  else if (end?.t === 'rollback_end')
    state = end.complete ? 'rolled-back' : end.kept ? 'failed' : 'rollback-incomplete';
  const intents = new Map();
  for (const r of records) if (r.t === 'intent' && !intents.has(r.step)) intents.set(r.step, r);
  return {
    run: begin?.run ?? basename(dir),
    dir,
    file,
    torn,
    records,
    state,
    module_dir: begin?.module_dir ?? '',
    schema_version: begin?.schema_version ?? '',
    started: begin?.ts ?? '',
    to_undo,
    intents,
  };
}

function append(run, rec) {
  const line = `${run.torn ? '\n' : ''}${JSON.stringify({ v: VERSION, ts: new Date().toISOString(), ...rec, by: 'cx-ops-rollback' })}\n`;
  run.torn = false;
  const fd = fs.openSync(run.file, 'a', 0o600);
  try {
    fs.writeSync(fd, line);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** The journals an operation log (<backup_dir>/operations.json) lists, newest run first; null if it is not one. */
function operationLog(file) {
  try {
    const runs = JSON.parse(fs.readFileSync(file, 'utf8')).runs;
    if (!Array.isArray(runs)) return null;
    return runs
      .filter((r) => r && typeof r.journal === 'string' && fs.existsSync(r.journal))
      .sort((a, b) => String(b.started).localeCompare(String(a.started)) || String(b.run).localeCompare(String(a.run)))
      .map((r) => r.journal);
  } catch {
    return null;
  }
}

function listRuns(backupDir) {
  const runs = join(backupDir, 'runs');
  if (!fs.existsSync(runs)) return [];
  return fs
    .readdirSync(runs)
    .filter((n) => RUN_ID.test(n) && fs.existsSync(join(runs, n, 'journal.jsonl')))
    .map((n) => summarize(join(runs, n)))
    .sort((a, b) => b.started.localeCompare(a.started) || b.run.localeCompare(a.run)); // as run-journal.ts newestFirst
}

// ---- restoring paths (as plugins-builtin/hotfix/prior-state.ts) ----------------------------

const lstatOrNull = (p) => {
  try {
    return fs.lstatSync(p);
  } catch (e) {
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return null;
    throw e;
  }
};
const typeOf = (s) => (s.isSymbolicLink() ? 'symlink' : s.isFile() ? 'file' : s.isDirectory() ? 'directory' : 'other');
const sha256 = (p) => createHash('sha256').update(fs.readFileSync(p)).digest('hex');

function differences(s) {
  const st = lstatOrNull(s.path);
  if (s.kind === 'absent') return st ? [`${s.path} should not exist but is a ${typeOf(st)}`] : [];
  if (!st) return [`${s.path} is missing`];
  const want = s.kind === 'file' ? 'file' : 'symlink';
  if (typeOf(st) !== want) return [`${s.path} is a ${typeOf(st)}, was a ${want}`];
  const out = [];
  if (s.kind === 'file' && (st.mode & 0o7777) !== s.mode)
    out.push(`${s.path}: mode ${(st.mode & 0o7777).toString(8)}, was ${s.mode.toString(8)}`);
  if (st.uid !== s.uid || st.gid !== s.gid) out.push(`${s.path}: owner ${st.uid}:${st.gid}, was ${s.uid}:${s.gid}`);
  if (s.kind === 'symlink') {
    const t = fs.readlinkSync(s.path);
    if (t !== s.target) out.push(`${s.path}: points to ${t}, pointed to ${s.target}`);
  } else if (st.size !== s.size || sha256(s.path) !== s.sha256) out.push(`${s.path}: content differs (sha256)`);
  return out;
}

function syncDir(d) {
  try {
    const fd = fs.openSync(d, 'r');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
  } catch {
    /* best effort */
  }
}

/** Whether no process has this id (EPERM: one exists, owned by another user). */
function pidGone(pid) {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return e.code === 'ESRCH';
  }
}

/** Removes the temp files `.NAME.cx-PID-HEX.tmp` that a killed write of `path` left beside it. */
function sweepWriteTemps(path) {
  const dir = dirname(path);
  let names;
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    const m = /^\.(.+)\.cx-(\d+)-[0-9a-f]{8}\.tmp$/.exec(n);
    if (m && m[1] === basename(path) && pidGone(Number(m[2]))) fs.rmSync(join(dir, n), { force: true });
  }
}

function restorePath(s, runDir) {
  sweepWriteTemps(s.path);
  if (s.kind === 'absent' && !lstatOrNull(s.path)) {
    // Killed before the file was in place: the directories made for it may be there already.
    for (const d of [...(s.created_dirs ?? [])].reverse()) {
      try {
        fs.rmdirSync(d);
      } catch {
        /* not empty or gone */
      }
    }
  }
  if (!differences(s).length) return [];
  const dir = dirname(s.path);
  const tmp = join(dir, `.${basename(s.path)}.hotfix-restore.tmp`);
  if (lstatOrNull(tmp)) fs.rmSync(tmp, { force: true });
  const now = lstatOrNull(s.path);
  if (s.kind === 'absent') {
    if (now && now.isDirectory()) return [`${s.path} should not exist but is a directory now; left as it is`];
    if (now) fs.unlinkSync(s.path);
    for (const d of [...(s.created_dirs ?? [])].reverse()) {
      try {
        fs.rmdirSync(d);
      } catch {
        /* not empty or gone */
      }
    }
    syncDir(dir);
    return differences(s);
  }
  if (now && now.isDirectory()) return [`${s.path} is a directory now; left as it is`];
  if (s.kind === 'symlink') {
    fs.symlinkSync(s.target, tmp);
    fs.lchownSync(tmp, s.uid, s.gid);
  } else {
    const src = join(runDir, s.backup);
    const st = fs.statSync(src);
    fs.copyFileSync(src, tmp);
    fs.chmodSync(tmp, s.mode);
    fs.lchownSync(tmp, s.uid, s.gid);
    fs.utimesSync(tmp, st.atime, st.mtime);
    const fd = fs.openSync(tmp, 'r');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, s.path);
  syncDir(dir);
  return differences(s);
}

// ---- marked blocks (as plugins-builtin/hotfix/markers.ts) ----------------------------------

function removeBlock(text, begin, end) {
  const lines = text === '' ? [] : text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  const bs = [];
  const es = [];
  lines.forEach((l, i) => {
    if (l === begin) bs.push(i);
    else if (l === end) es.push(i);
    else if (l.trim() === begin || l.trim() === end)
      throw new Error(`line ${i + 1} is a marker with stray whitespace; the block was not removed`);
  });
  if (!bs.length && !es.length) return null;
  if (bs.length !== 1 || es.length !== 1 || es[0] < bs[0])
    throw new Error(
      `the block's markers are doubled or orphaned (begin lines ${bs.map((b) => b + 1).join(',') || '-'}, end lines ${es.map((e) => e + 1).join(',') || '-'}); the block was not removed`,
    );
  const kept = [...lines.slice(0, bs[0]), ...lines.slice(es[0] + 1)];
  const nl = text.endsWith('\n') || es[0] + 1 >= lines.length;
  return kept.map((l, i) => (i < kept.length - 1 || nl ? `${l}\n` : l)).join('');
}

// ---- undo actions (as plugins-builtin/hotfix/undo.ts) --------------------------------------

function run(argv, options = {}) {
  const r = spawnSync(argv[0], argv.slice(1), {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C', ...(options.env ?? {}) },
    timeout: options.timeout_ms ?? 600_000,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { code: r.error ? 127 : r.status, out: r.stdout ?? '', err: r.error ? r.error.message : (r.stderr ?? '') };
}
const tail = (s) => s.trim().split('\n').slice(-3).join(' | ');

function restoreAll(intent, runDir) {
  const left = [];
  for (const p of [...intent.prior].reverse()) left.push(...restorePath(p, runDir));
  if (left.length) throw new Error(`still differs: ${left.join('; ')}`);
}

function perform(a, intent, runDir) {
  switch (a.do) {
    case 'restore':
      restoreAll(intent, runDir);
      return `restored ${
        intent.prior
          .filter((p) => !p.path.endsWith('.tmp'))
          .map((p) => p.path)
          .join(', ') || 'nothing'
      }`;
    case 'remove_block': {
      if (!lstatOrNull(a.path)) return `${a.path} is gone; nothing to remove`;
      const text = fs.readFileSync(a.path, 'utf8');
      if (createHash('sha256').update(text).digest('hex') === a.written_sha256) {
        restoreAll(intent, runDir);
        return `${a.path} put back as it was`;
      }
      const without = removeBlock(text, a.begin, a.end);
      if (without === null) return `${a.path}: the block is not there (already removed)`;
      const tmp = join(dirname(a.path), `.${basename(a.path)}.hotfix-restore.tmp`);
      const st = fs.statSync(a.path);
      fs.writeFileSync(tmp, without, { mode: st.mode & 0o7777 });
      fs.chownSync(tmp, st.uid, st.gid);
      fs.renameSync(tmp, a.path);
      return `${a.path} changed since the hotfix: only its block '${a.begin}' was removed`;
    }
    case 'run': {
      const r = run(a.argv, a);
      if (r.code !== 0)
        throw new Error(
          `rollback script ${a.argv[a.argv.length - 1]} failed (exit ${r.code}): ${tail(r.err || r.out)}`,
        );
      return `ran ${a.argv[a.argv.length - 1]}`;
    }
    case 'sqlite_restore': {
      const backup = join(runDir, a.backup);
      if (!lstatOrNull(backup)) return 'the capture had not been taken; nothing to restore';
      const r = run(['sqlite3', a.path, `.restore '${backup.replace(/'/g, "''")}'`]);
      if (r.code !== 0) throw new Error(`sqlite3 .restore into ${a.path} failed: ${tail(r.err)}`);
      const c = run(['sqlite3', a.path, 'PRAGMA integrity_check;']);
      if (c.out.trim() !== 'ok')
        throw new Error(`${a.path} fails PRAGMA integrity_check after the restore: ${c.out.trim()}`);
      return `SQLite ${a.path} restored (integrity_check ok)`;
    }
    case 'pg_restore': {
      const dump = join(runDir, a.dump);
      if (!lstatOrNull(dump)) return 'the dump had not been taken; nothing to restore';
      const c = a.conn;
      const conn = [
        ...(c.host ? ['-h', c.host] : []),
        ...(c.port ? ['-p', String(c.port)] : []),
        ...(c.user ? ['-U', c.user] : []),
        '-w',
      ];
      const r = run(
        [
          'pg_restore',
          '--clean',
          '--if-exists',
          '--exit-on-error',
          '--single-transaction',
          ...conn,
          '-d',
          c.database,
          dump,
        ],
        { timeout_ms: 3_600_000 },
      );
      if (r.code !== 0) throw new Error(`pg_restore into ${c.database} failed (exit ${r.code}): ${tail(r.err)}`);
      return `PostgreSQL ${c.database} restored from ${a.dump}`;
    }
    case 'services': {
      const file = join(runDir, a.file);
      if (!lstatOrNull(file)) return 'the service states had not been captured; nothing to restore';
      const problems = [];
      const did = [];
      for (const s of JSON.parse(fs.readFileSync(file, 'utf8'))) {
        if (s.state !== 'running' || !s.manager) continue;
        const r =
          s.manager === 'systemd'
            ? run(['systemctl', 'start', `${s.name}.service`])
            : run(['supervisorctl', 'start', s.name]);
        if (r.code === 0) did.push(`started ${s.name}`);
        else problems.push(`${s.name}: ${tail(r.err || r.out)}`);
      }
      if (problems.length) throw new Error(problems.join('; '));
      return did.join(', ') || 'services as they were';
    }
    default:
      throw new Error(
        `unknown undo action ${JSON.stringify(a.do)} (journal format ${VERSION}); this cx-ops-rollback is older than the journal`,
      );
  }
}

function rollback(r, reason) {
  append(r, { t: 'rollback_begin', reason });
  const steps = [];
  const remaining = [];
  for (const step of r.to_undo) {
    const intent = r.intents.get(step);
    try {
      const did = intent.undo.map((a) => perform(a, intent, r.dir));
      const detail = did.join('; ') || 'nothing to undo (no rollback_script)';
      append(r, { t: 'undone', step, op: intent.op, detail });
      steps.push({ step, op: intent.op, ok: true, detail });
    } catch (e) {
      append(r, { t: 'undo_failed', step, op: intent.op, error: e.message });
      steps.push({ step, op: intent.op, ok: false, detail: e.message });
      remaining.push(step);
    }
  }
  const complete = remaining.length === 0;
  append(r, { t: 'rollback_end', complete, remaining });
  const log = [
    `${new Date().toISOString()} run ${r.run}: rollback ${complete ? 'COMPLETE' : `INCOMPLETE (remaining steps ${remaining.join(', ')})`} (cx-ops-rollback)`,
    ...steps.map((s) => `  step ${s.step} ${s.op}: ${s.ok ? 'undone' : 'FAILED'}: ${s.detail}`),
  ];
  try {
    fs.appendFileSync(join(dirname(dirname(r.dir)), 'rollback.log'), `${log.join('\n')}\n`, { mode: 0o600 });
  } catch {
    /* the journal has it */
  }
  return { run: r.run, complete, steps, remaining };
}

/** The start time of a process (clock ticks since boot), 0 when unknown: a reused pid is not the holder. */
function processStart(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]) || 0;
  } catch {
    return 0;
  }
}

/** Whether the holder recorded in a lock file is a live process. */
function holderAlive(text) {
  try {
    const h = JSON.parse(text);
    const start = processStart(h.pid);
    return h.pid > 0 && start > 0 && (!h.start || h.start === start) ? h : null;
  } catch {
    const m = /^(?:pid )?(\d+)/.exec(text);
    return m && processStart(Number(m[1])) ? { pid: Number(m[1]), command: text.trim() } : null;
  }
}

/**
 * Takes cx-ops' hotfix lock (<data_dir>/locks/hotfix.lock, the kernel's format: JSON naming pid,
 * start time, command and token, put in place with link() so it appears whole), so that no
 * `cx-ops hotfix apply` starts while this runs. A live holder is refused; a dead one's lock is
 * taken over. Resolves with a release function.
 */
function takeLock(dataDir) {
  const dir = join(dataDir, 'locks');
  const path = join(dir, 'hotfix.lock');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const token = createHash('sha256').update(`${process.pid}${Date.now()}${Math.random()}`).digest('hex').slice(0, 16);
  const mine = `${JSON.stringify({ pid: process.pid, start: processStart(process.pid), command: 'cx-ops-rollback', token })}\n`;
  const tmp = join(dir, `.hotfix.lock.${process.pid}.${token}`);
  fs.writeFileSync(tmp, mine, { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        fs.linkSync(tmp, path);
        return () => {
          try {
            if (fs.readFileSync(path, 'utf8') === mine) fs.unlinkSync(path);
          } catch {
            /* gone */
          }
        };
      } catch (e) {
        if (e.code !== 'EEXIST') throw e;
        let text = '';
        try {
          text = fs.readFileSync(path, 'utf8');
        } catch {
          continue;
        }
        const h = holderAlive(text);
        if (h)
          throw Object.assign(
            new Error(
              `a cx-ops hotfix run holds ${path} (pid ${h.pid}, ${h.command ?? '?'}); wait for it to end, then run this again`,
            ),
            { locked: true },
          );
        // A dead holder: take its lock over (only the one we read).
        try {
          if (fs.readFileSync(path, 'utf8') === text) fs.unlinkSync(path);
        } catch {
          /* someone else took it over */
        }
      }
    }
    throw Object.assign(new Error(`could not take ${path}`), { locked: true });
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

async function confirm(q, yes) {
  if (yes) return true;
  if (!process.stdin.isTTY) return false;
  process.stdout.write(`${q} [y/N] `);
  const answer = await new Promise((res) => process.stdin.once('data', (d) => res(String(d))));
  process.stdin.pause();
  return /^y(es)?$/i.test(answer.trim());
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const backupDir = hostPath(o.root, o.backupDir);
  const out = (v, text) => process.stdout.write(o.json ? `${JSON.stringify(v, null, 2)}\n` : text);
  if (o.list) {
    const runs = listRuns(backupDir).map((r) => ({
      id: r.run,
      module: r.module_dir,
      schema_version: r.schema_version,
      created: r.started,
      state: r.state,
      to_undo: r.to_undo,
      paths: [
        ...new Set(
          [...r.intents.values()].flatMap((i) => i.prior.filter((p) => !p.path.endsWith('.tmp')).map((p) => p.path)),
        ),
      ],
    }));
    out(
      runs,
      runs.length
        ? runs
            .map(
              (r) =>
                `${r.id}  ${r.state.padEnd(19)} ${r.module} ${r.schema_version}\n  paths: ${r.paths.join(', ') || '(none)'}\n`,
            )
            .join('')
        : `no snapshots in ${backupDir}/runs\n`,
    );
    return 0;
  }
  let dir;
  if (o.restore) {
    if (!RUN_ID.test(o.restore))
      usage(`'${o.restore}' is not a snapshot id (YYYYMMDD-HHMMSS-xxxx); list them with --list-snapshots`);
    dir = join(backupDir, 'runs', o.restore);
    if (!fs.existsSync(join(dir, 'journal.jsonl')))
      usage(
        `no snapshot '${o.restore}' in ${backupDir}/runs; list them with: cx-ops-rollback --root ${o.root} --list-snapshots`,
      );
  } else {
    const p = resolve(o.log);
    const log = fs.existsSync(p) && fs.statSync(p).isFile() && !p.endsWith('.jsonl') ? operationLog(p) : null;
    if (log) {
      // The seed's operation log: the newest of its runs that is not rolled back.
      const open = log.map((j) => dirname(j)).find((d) => summarize(d).state !== 'rolled-back');
      if (!open) {
        out(
          { complete: true, steps: [], remaining: [], already: true },
          `every run in ${p} is rolled back already; nothing to do\n`,
        );
        return 0;
      }
      dir = open;
    } else dir = fs.existsSync(p) && fs.statSync(p).isDirectory() ? p : dirname(p);
    if (!fs.existsSync(join(dir, 'journal.jsonl')))
      usage(
        `${o.log} is not a hotfix run journal (journal.jsonl), run directory or operation log (<backup_dir>/operations.json)`,
      );
  }
  const r = summarize(dir);
  if (r.state === 'rolled-back') {
    out(
      { run: r.run, complete: true, steps: [], remaining: [], already: true },
      `run ${r.run} is rolled back already; nothing to do\n`,
    );
    return 0;
  }
  if (!(await confirm(`Roll back run ${r.run} of ${r.module_dir} (${r.to_undo.length} step(s), ${r.state})?`, o.yes))) {
    process.stderr.write('not rolled back: not confirmed (answer yes on a terminal, or pass -y)\n');
    return 1;
  }
  let release;
  try {
    // Without --root, the root the run was applied under (its begin record) holds cx-ops' data dir.
    const root = o.rootGiven ? o.root : (r.records.find((x) => x.t === 'begin')?.root ?? o.root);
    release = takeLock(o.dataDir ? resolve(o.dataDir) : hostPath(root, '/var/lib/cx'));
  } catch (e) {
    if (!e.locked) throw e;
    fail('CX_ERR_STATE_LOCKED', e.message, 5);
  }
  let res;
  try {
    res = rollback(summarize(dir), 'cx-ops-rollback');
  } finally {
    release();
  }
  out(
    res,
    `${res.steps.map((s) => `  ${s.ok ? 'undone' : 'FAILED'} step ${s.step} ${s.op}: ${s.detail}\n`).join('')}${res.complete ? 'OK: rollback complete\n' : `INCOMPLETE: step(s) ${res.remaining.join(', ')} could not be undone; the journal keeps them: fix the cause and run this again\n`}`,
  );
  return res.complete ? 0 : 5;
}

main().then(
  (code) => process.exit(code),
  (e) => fail('CX_ERR_INTERNAL', e && e.message ? e.message : String(e), 1),
);
