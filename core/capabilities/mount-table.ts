/**
 * The mount table of this process (the kernel's, never a --root fixture's), as statfsMany needs
 * it: which paths are mount points of local file systems, where statfs(2) answers from memory
 * and so may be called synchronously. A network or FUSE file system asks a server or a daemon,
 * and a hard NFS mount whose server is gone waits forever: those, and every type not known
 * here, stay on the thread pool.
 *
 * The table is read where it is used (in the same synchronous stretch as the statfs), or taken
 * from a read of the same table made at most FRESH_MS before: a detection cycle reads
 * /proc/mounts anyway (readSmallFiles notes it here), and reading the table twice would cost
 * more than all the statfs calls.
 */
import { readFileSync } from 'node:fs';

/**
 * File system types whose statfs answers from memory: disk file systems (the superblock's
 * counters), memory and pseudo file systems. overlay answers from its upper (or lower) layer,
 * which is a local file system on every setup it supports as an upper layer.
 */
export const LOCAL_FS_TYPES: ReadonlySet<string> = new Set([
  'ext2',
  'ext3',
  'ext4',
  'xfs',
  'btrfs',
  'zfs',
  'f2fs',
  'jfs',
  'reiserfs',
  'bcachefs',
  'nilfs2',
  'vfat',
  'msdos',
  'exfat',
  'ntfs',
  'ntfs3',
  'hfsplus',
  'udf',
  'iso9660',
  'squashfs',
  'erofs',
  'overlay',
  'tmpfs',
  'ramfs',
  'devtmpfs',
  'rootfs',
  'proc',
  'sysfs',
  'devpts',
  'cgroup',
  'cgroup2',
  'mqueue',
  'debugfs',
  'tracefs',
  'securityfs',
  'pstore',
  'bpf',
  'configfs',
  'hugetlbfs',
  'efivarfs',
  'binfmt_misc',
]);

/** How old a noted table may be and still decide (ms). */
export const FRESH_MS = 1;

/** The two formats of the table: /proc/self/mountinfo, and /proc/self/mounts (alias /proc/mounts). */
export type TableFormat = 'mountinfo' | 'mounts';

/** One mount: where, and its file system type. */
interface Mount {
  point: string;
  type: string;
}

const unescape = (s: string) =>
  s.includes('\\') ? s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))) : s;

/** The mounts of a table's text. */
function parseTable(text: string, format: TableFormat): Mount[] {
  const out: Mount[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (format === 'mounts') {
      if (f.length >= 3) out.push({ point: unescape(f[1]!), type: f[2]! });
      continue;
    }
    // id parent major:minor root mount-point options [optional fields…] - type source super-options
    const dash = f.indexOf('-', 6);
    if (dash > 0 && dash + 1 < f.length) out.push({ point: unescape(f[4]!), type: f[dash + 1]! });
  }
  return out;
}

/** The last table read, and when (performance.now() before the read). */
let noted: { at: number; text: string; format: TableFormat } | null = null;

/** Where this process's own table lies in /proc, per format (what readSmallFiles may have read). */
export const OWN_TABLES: ReadonlyMap<string, TableFormat> = new Map([
  [`/proc/${process.pid}/mountinfo`, 'mountinfo'],
  [`/proc/${process.pid}/mounts`, 'mounts'],
]);

/** Keeps a table of this process just read (`at`: performance.now() before the read). */
export function noteMountTable(text: string, format: TableFormat, at: number): void {
  noted = { at, text, format };
}

/** A table that stands for this process's in tests (a remote mount where none can be made). */
let pinned: Mount[] | null = null;

/** Tests: the mount table statfsMany decides by (mountinfo text), until called with null. */
export function pinMountTableForTest(mountinfo: string | null): void {
  pinned = mountinfo === null ? null : parseTable(mountinfo, 'mountinfo');
}

/** The mounts of this process: a table noted at most FRESH_MS ago, else /proc/self/mountinfo read now. */
export function currentMounts(): Mount[] {
  if (pinned) return pinned;
  if (!noted || performance.now() - noted.at > FRESH_MS) {
    const at = performance.now();
    noteMountTable(readFileSync('/proc/self/mountinfo', 'utf8'), 'mountinfo', at);
  }
  const n = noted!;
  // The table is the same text call after call: parsed once.
  if (parsed?.text !== n.text || parsed.format !== n.format)
    parsed = { text: n.text, format: n.format, mounts: parseTable(n.text, n.format) };
  return parsed.mounts;
}

/** The last table parsed. */
let parsed: { text: string; format: TableFormat; mounts: Mount[] } | null = null;

const within = (p: string, dir: string) => dir === '/' || p === dir || p.startsWith(`${dir}/`);

/**
 * Whether `disk` (a normalized absolute path on this machine) is the mount point of a local file
 * system, with every mount at or above it local too (the walk to it crosses them; a remote
 * mount under a local one at the same point makes it not local).
 */
export function isLocalMountPoint(mounts: readonly Mount[], disk: string): boolean {
  let point = false;
  for (const m of mounts) {
    if (!within(disk, m.point)) continue;
    if (!LOCAL_FS_TYPES.has(m.type)) return false;
    if (m.point === disk) point = true;
  }
  return point;
}
