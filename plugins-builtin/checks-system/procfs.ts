/**
 * Pure parsers for the /proc files the system checks read. Each takes the file's text and
 * returns plain numbers, so they are tested on captured files without a host.
 */

/** /proc/meminfo as kB values keyed by field name ("MemTotal" -> 16303456). */
export function parseMeminfo(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z0-9_()]+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** /proc/loadavg: the 1, 5 and 15 minute load averages. */
export function parseLoadavg(text: string): { load1: number; load5: number; load15: number } {
  const [a, b, c] = text.trim().split(/\s+/).map(Number);
  if (![a, b, c].every((n) => Number.isFinite(n)))
    throw new Error(`unexpected /proc/loadavg content: ${JSON.stringify(text.slice(0, 80))}`);
  return { load1: a!, load5: b!, load15: c! };
}

/** CPU count from /sys/devices/system/cpu/online ("0-3,6" -> 5). */
export function parseCpuList(text: string): number {
  let n = 0;
  for (const part of text.trim().split(',')) {
    if (!part) continue;
    const [lo, hi] = part.split('-').map(Number);
    if (!Number.isInteger(lo)) throw new Error(`unexpected cpu list: ${JSON.stringify(text.slice(0, 80))}`);
    n += hi === undefined ? 1 : hi - lo! + 1;
  }
  return n;
}

/** CPU count from /proc/cpuinfo (one "processor" line per logical CPU). */
export function countCpuinfoProcessors(text: string): number {
  return text.split('\n').filter((l) => /^processor\s*:/.test(l)).length;
}

/** /proc/sys/fs/file-nr: allocated handles, allocated-but-unused handles, the system maximum. */
export function parseFileNr(text: string): { allocated: number; unused: number; max: number } {
  const [allocated, unused, max] = text.trim().split(/\s+/).map(Number);
  if (![allocated, unused, max].every((n) => Number.isFinite(n)))
    throw new Error(`unexpected /proc/sys/fs/file-nr content: ${JSON.stringify(text.slice(0, 80))}`);
  return { allocated: allocated!, unused: unused!, max: max! };
}

/** One /proc/<pid>/stat line: pid, command name (may hold spaces and parentheses), state, parent pid. */
export function parseProcStat(text: string): { pid: number; comm: string; state: string; ppid: number } | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const ppid = Number(rest[1]);
  if (!Number.isInteger(pid) || !rest[0] || !Number.isInteger(ppid)) return null;
  return { pid, comm: text.slice(open + 1, close), state: rest[0], ppid };
}

/** One mount of /proc/mounts. */
export interface MountEntry {
  device: string;
  mountpoint: string;
  fstype: string;
  options: string[];
}

/** /proc/mounts (octal escapes like \040 for spaces decoded). */
export function parseMounts(text: string): MountEntry[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    out.push({ device: unescape(f[0]!), mountpoint: unescape(f[1]!), fstype: f[2]!, options: f[3]!.split(',') });
  }
  return out;
}

/** File system types that hold data worth watching (pseudo and memory file systems are left out). */
export const DISK_FS_TYPES: readonly string[] = [
  'ext2',
  'ext3',
  'ext4',
  'xfs',
  'btrfs',
  'zfs',
  'f2fs',
  'jfs',
  'reiserfs',
  'vfat',
  'exfat',
  'ntfs',
  'ntfs3',
  'overlay',
  'fuseblk',
  'bcachefs',
];

/** Network file systems: left out unless checks.disk_space.include_remote (a hung server would hang statfs). */
export const REMOTE_FS_TYPES: readonly string[] = ['nfs', 'nfs4', 'cifs', 'smb3', 'fuse.sshfs', 'glusterfs', 'ceph'];
