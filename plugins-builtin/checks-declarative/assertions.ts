/**
 * Evaluates one declared check against the host, through the capabilities only (the rooted host
 * view: /proc, /etc/passwd, the dpkg status file of --root). Each assertion that does not hold is
 * one line of the FAIL message; every measured value is in the details.
 */
import { type CheckOutcome, type PluginContext } from 'cx-ops/sdk';
import { askServiceManager, serviceManagerKind, type ServiceStatus } from '../services/service-manager-contract.js';
// dpkg's version order, from the packages checks (one implementation of the algorithm).
import { compareDebVersions } from '../checks-packages/deb-version.js';
import { parseVersionRange, type DeclaredCheck } from './checks-file.js';

type Ctx = PluginContext<unknown>;
const read = async (ctx: Ctx, path: string): Promise<string | null> =>
  (await ctx.fs.stat(path)) ? ctx.fs.readFile(path) : null;
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

/** name -> id from a passwd or group file. */
async function idsOf(ctx: Ctx, file: string): Promise<Map<string, number>> {
  const text = (await read(ctx, file)) ?? '';
  return new Map(
    text
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(':'))
      .filter((f) => f.length > 2)
      .map((f) => [f[0]!, Number(f[2])]),
  );
}

/** Listening TCP sockets from /proc/net/tcp and tcp6: "address:port". */
export function listeningPorts(text: string): Array<{ address: string; port: number }> {
  const out: Array<{ address: string; port: number }> = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || f[3] !== '0A') continue;
    const [hexAddr, hexPort] = f[1]!.split(':');
    const address =
      hexAddr!.length === 8
        ? hexAddr!
            .match(/../g)!
            .reverse()
            .map((b) => parseInt(b, 16))
            .join('.')
        : hexAddr!;
    out.push({ address, port: parseInt(hexPort!, 16) });
  }
  return out;
}

/** Names of running processes (the comm field of /proc/<pid>/stat). */
async function processNames(ctx: Ctx): Promise<string[]> {
  const proc = '/proc';
  const names: string[] = [];
  for (const e of await ctx.fs.readDir(proc).catch(() => [])) {
    if (!/^\d+$/.test(e.name)) continue;
    const stat = await read(ctx, `${proc}/${e.name}/stat`).catch(() => null);
    const m = stat ? /^\d+ \((.*)\) (\S)/s.exec(stat) : null;
    if (m && m[2] !== 'Z') names.push(m[1]!);
  }
  return names;
}

/** The installed version of a package from the dpkg status file, or null. */
export function installedVersion(statusText: string, name: string): string | null {
  for (const stanza of statusText.split(/\n\s*\n/)) {
    if (!new RegExp(`^Package: ${name.replace(/[.+]/g, '\\$&')}$`, 'm').test(stanza)) continue;
    if (!/^Status: install ok installed$/m.test(stanza)) return null;
    return /^Version: (.+)$/m.exec(stanza)?.[1]?.trim() ?? null;
  }
  return null;
}

/** Whether a version satisfies every comparator of a range. */
export function versionSatisfies(version: string, range: string): boolean {
  return parseVersionRange(range).every(({ op, version: v }) => {
    const c = compareDebVersions(version, v);
    return op === '<' ? c < 0 : op === '<=' ? c <= 0 : op === '=' ? c === 0 : op === '>=' ? c >= 0 : c > 0;
  });
}

/** Runs one declared check. */
export async function evaluate(ctx: Ctx, c: DeclaredCheck): Promise<CheckOutcome> {
  const e = c.expect;
  const wrong: string[] = [];
  const details: Record<string, unknown> = { declared_at: c.at, type: c.type };
  const want = (ok: boolean, what: string) => {
    if (!ok) wrong.push(what);
  };
  switch (c.type) {
    case 'file': {
      const path = String(c.subject);
      const st = await ctx.fs.stat(path);
      const exists = e.exists !== false;
      details.exists = st !== null;
      want((st !== null) === exists, exists ? `${c.subject} does not exist` : `${c.subject} exists`);
      if (!st || !exists) break;
      details.mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
      if (typeof e.type === 'string') want(st.type === e.type, `${c.subject} is a ${st.type}, not a ${e.type}`);
      if (typeof e.mode === 'string')
        want((st.mode & 0o7777) === parseInt(e.mode, 8), `mode is ${details.mode}, not ${e.mode.padStart(4, '0')}`);
      if (typeof e.owner === 'string') {
        const uid = (await idsOf(ctx, '/etc/passwd')).get(e.owner);
        details.uid = st.uid;
        want(
          uid === st.uid,
          uid === undefined ? `no user '${e.owner}' in /etc/passwd` : `owner is uid ${st.uid}, not ${e.owner} (${uid})`,
        );
      }
      if (typeof e.group === 'string') {
        const gid = (await idsOf(ctx, '/etc/group')).get(e.group);
        details.gid = st.gid;
        want(
          gid === st.gid,
          gid === undefined ? `no group '${e.group}' in /etc/group` : `group is gid ${st.gid}, not ${e.group} (${gid})`,
        );
      }
      if (strings(e.contains).length) {
        const text = st.type === 'file' ? await ctx.fs.readFile(path) : '';
        for (const s of strings(e.contains)) want(text.includes(s), `does not contain '${s}'`);
      }
      break;
    }
    case 'port': {
      const text = `${(await read(ctx, '/proc/net/tcp')) ?? ''}\n${((await read(ctx, '/proc/net/tcp6')) ?? '').split('\n').slice(1).join('\n')}`;
      const socks = listeningPorts(text).filter(
        (s) => s.port === c.subject && (typeof e.address !== 'string' || s.address === e.address),
      );
      details.listening_on = socks.map((s) => `${s.address}:${s.port}`);
      const listening = e.listening !== false;
      want(
        socks.length > 0 === listening,
        listening
          ? `nothing listens on TCP port ${c.subject}${typeof e.address === 'string' ? ` at ${e.address}` : ''}`
          : `TCP port ${c.subject} is listening (${(details.listening_on as string[]).join(', ')})`,
      );
      break;
    }
    case 'process': {
      const names = await processNames(ctx);
      const count = names.filter((n) => n === c.subject).length;
      details.count = count;
      const running = e.running !== false;
      want(
        count > 0 === running,
        running
          ? `no process named '${c.subject}' is running`
          : `${count} process(es) named '${c.subject}' are running`,
      );
      break;
    }
    case 'package': {
      const status = await read(ctx, '/var/lib/dpkg/status');
      if (status === null)
        return { status: 'SKIP', message: 'no dpkg on this host (no /var/lib/dpkg/status)', details };
      const version = installedVersion(status, String(c.subject));
      details.version = version;
      const installed = e.installed !== false;
      want(
        (version !== null) === installed,
        installed ? `package ${c.subject} is not installed` : `package ${c.subject} ${version} is installed`,
      );
      if (version && typeof e.version === 'string')
        want(versionSatisfies(version, e.version), `version ${version} is not ${e.version}`);
      break;
    }
    case 'service': {
      const seen = await serviceState(ctx, String(c.subject));
      if ('reason' in seen) return { status: 'SKIP', message: seen.reason, details };
      details.manager = seen.manager;
      details.state = seen.status.state;
      want(
        seen.status.state === (e.state ?? 'running'),
        `${c.subject} is ${seen.status.state} (${seen.status.detail}) in ${seen.manager}, not ${e.state ?? 'running'}`,
      );
      break;
    }
    case 'http': {
      try {
        const r = await ctx.net.http({
          url: String(c.subject),
          method: typeof e.method === 'string' ? e.method : 'GET',
          timeoutMs: Number(e.timeout_ms ?? 5000),
        });
        details.status = r.status;
        want(r.status === (e.status ?? 200), `status ${r.status}, not ${e.status ?? 200}`);
        for (const s of strings(e.body)) want(r.body.includes(s), `body does not contain '${s}'`);
      } catch (err) {
        wrong.push(`no answer: ${err instanceof Error ? err.message : String(err)}`);
      }
      break;
    }
    case 'command': {
      const [cmd, ...args] = c.subject as string[];
      const r = await ctx.exec.run(cmd!, args, { readOnly: true, timeoutMs: Number(e.timeout_ms ?? 10_000) });
      details.exit_status = r.exitCode;
      details.stdout = r.stdout.slice(0, 2000);
      want(
        r.exitCode === (e.exit_status ?? 0),
        `exit status ${r.exitCode}${r.timedOut ? ' (timed out)' : ''}, not ${e.exit_status ?? 0}`,
      );
      for (const s of strings(e.stdout)) want(r.stdout.includes(s), `output does not contain '${s}'`);
      break;
    }
    case 'dns': {
      const r = await ctx.net.resolve(String(c.subject), {
        ...(typeof e.server === 'string' ? { server: e.server } : {}),
        timeoutMs: Number(e.timeout_ms ?? 3000),
      });
      details.addresses = r.addresses;
      const resolvable = e.resolvable !== false;
      want(
        r.ok === resolvable,
        resolvable
          ? `${c.subject} does not resolve${r.error ? ` (${r.error})` : ''}`
          : `${c.subject} resolves to ${r.addresses.join(', ')}`,
      );
      for (const a of strings(e.addresses)) want(r.addresses.includes(a), `${c.subject} does not resolve to ${a}`);
      break;
    }
    case 'kernel_param': {
      const path = `/proc/sys/${String(c.subject).replace(/\./g, '/')}`;
      const value = await read(ctx, path);
      details.value = value?.trim() ?? null;
      if (value === null) wrong.push(`no kernel parameter ${c.subject} (${path})`);
      else if (typeof e.value === 'string')
        want(value.trim().replace(/\s+/g, ' ') === e.value, `${c.subject} is ${value.trim()}, not ${e.value}`);
      break;
    }
    case 'mount': {
      const text = (await read(ctx, '/proc/mounts')) ?? '';
      const m = text
        .split('\n')
        .map((l) => l.split(/\s+/))
        .find((f) => f[1]?.replace(/\\040/g, ' ') === c.subject);
      details.filesystem = m?.[2] ?? null;
      const exists = e.exists !== false;
      want(
        Boolean(m) === exists,
        exists ? `nothing is mounted on ${c.subject}` : `${c.subject} is mounted (${m?.[2]})`,
      );
      if (m && exists) {
        if (typeof e.filesystem === 'string')
          want(m[2] === e.filesystem, `${c.subject} is ${m[2]}, not ${e.filesystem}`);
        const opts = (m[3] ?? '').split(',');
        details.options = opts;
        for (const o of strings(e.options)) want(opts.includes(o), `${c.subject} is not mounted with ${o}`);
      }
      break;
    }
  }
  if (wrong.length) return { status: 'FAIL', message: wrong.join('; '), details: { ...details, failed: wrong } };
  return { status: 'PASS', message: passText(c), details };
}

function passText(c: DeclaredCheck): string {
  const fields = Object.entries(c.expect).map(([k, v]) => `${k} ${Array.isArray(v) ? v.join(', ') : String(v)}`);
  return `${c.type} ${Array.isArray(c.subject) ? c.subject.join(' ') : c.subject}: ${fields.join(', ') || 'as declared'}`;
}

/** A service's state from the first available service manager that knows it. */
async function serviceState(
  ctx: Ctx,
  name: string,
): Promise<{ manager: string; status: ServiceStatus } | { reason: string }> {
  let managers: string[];
  try {
    managers = (await ctx.registry.list(serviceManagerKind)).map((m) => m.id);
  } catch {
    return { reason: 'no service manager is loaded (the services plugin provides them)' };
  }
  const why: string[] = [];
  for (const id of managers) {
    const d = await askServiceManager(ctx, id, { op: 'detect' });
    if (!d?.available) {
      why.push(`${id}: ${d?.reason ?? 'not available'}`);
      continue;
    }
    const s = await askServiceManager(ctx, id, { op: 'status', name });
    if (s.state !== 'unknown') return { manager: id, status: s };
    why.push(`${id}: no service '${name}'`);
  }
  return { reason: `service ${name} is not known to any running service manager (${why.join('; ') || 'none'})` };
}
