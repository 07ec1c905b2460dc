/**
 * `cx-ops checks init`: writes a checks file from the host as it is now (Goss's autoadd): the
 * real file systems mounted, the TCP ports listening, a few security-relevant kernel
 * parameters, and for each `--add NAME`: the package (installed, at least this version), the
 * process (running) or the path (exists, mode, owner) of that name.
 */
import { type PluginContext } from 'cx-ops/sdk';
import { stringify } from 'yaml';
import { installedVersion, listeningPorts } from './assertions.js';

const REAL_FS = new Set(['ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'zfs', 'vfat', 'f2fs', 'jfs', 'reiserfs']);
const PARAMS = [
  'kernel.randomize_va_space',
  'net.ipv4.ip_forward',
  'net.ipv4.conf.all.accept_redirects',
  'fs.protected_symlinks',
  'fs.protected_hardlinks',
];
const id = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '') || 'root';

const read = async (ctx: PluginContext<unknown>, p: string) => ((await ctx.fs.stat(p)) ? ctx.fs.readFile(p) : null);

/** The checks describing the host now, as plain data for the YAML file. */
export async function describeHost(
  ctx: PluginContext<unknown>,
  add: string[],
): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  const mounts = ((await read(ctx, '/proc/mounts')) ?? '')
    .split('\n')
    .map((l) => l.split(/\s+/))
    .filter((f) => f.length >= 4 && REAL_FS.has(f[2]!));
  for (const f of mounts)
    out.push({
      id: `mount_${id(f[1]!)}`,
      mount: f[1],
      filesystem: f[2],
      options: [f[3]!.split(',').includes('ro') ? 'ro' : 'rw'],
    });
  const tcp = `${(await read(ctx, '/proc/net/tcp')) ?? ''}\n${((await read(ctx, '/proc/net/tcp6')) ?? '').split('\n').slice(1).join('\n')}`;
  for (const port of [...new Set(listeningPorts(tcp).map((s) => s.port))].sort((a, b) => a - b))
    out.push({ id: `port_${port}`, port, listening: true });
  for (const p of PARAMS) {
    const v = await read(ctx, `/proc/sys/${p.replace(/\./g, '/')}`);
    if (v !== null) out.push({ id: `sysctl_${id(p)}`, kernel_param: p, value: v.trim() });
  }
  const status = (await read(ctx, '/var/lib/dpkg/status')) ?? '';
  for (const name of add) {
    let found = false;
    const version = status ? installedVersion(status, name) : null;
    if (version) {
      out.push({ id: `package_${id(name)}`, package: name, installed: true, version: `>= ${version}` });
      found = true;
    }
    if (name.startsWith('/')) {
      const st = await ctx.fs.stat(name);
      if (st) {
        out.push({
          id: `file_${id(name)}`,
          file: name,
          exists: true,
          mode: (st.mode & 0o7777).toString(8).padStart(4, '0'),
        });
        found = true;
      }
    }
    for (const e of await ctx.fs.readDir('/proc').catch(() => [])) {
      if (!/^\d+$/.test(e.name)) continue;
      const stat = await read(ctx, `/proc/${e.name}/stat`).catch(() => null);
      if (stat && /^\d+ \((.*)\) /.exec(stat)?.[1] === name) {
        out.push({ id: `process_${id(name)}`, process: name, running: true });
        found = true;
        break;
      }
    }
    if (!found)
      throw new Error(
        `checks init --add ${name}: no installed package, running process or path of that name on this host`,
      );
  }
  return out;
}

/** The file's text: a header naming the schema, then the checks. */
export function checksFileText(checks: Array<Record<string, unknown>>, when: Date): string {
  return `# cx-ops declarative checks (schemas/declarative-checks.schema.json), written by cx-ops checks init on ${when.toISOString()}\n# Run them with: cx-ops doctor --checks-file THIS_FILE   (or list the file under declarative.files in config.yaml)\n${stringify({ checks })}`;
}
