/**
 * Reading a plugin archive (tar.gz) entirely in memory and checking every entry BEFORE anything
 * is written: only plain files and directories, with relative paths that stay inside the archive.
 * Absolute paths, `..`, links (symbolic or hard) and devices are refused.
 */
import { messageOf } from 'cx-ops/sdk';
import { gunzipSync } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { registryErrors } from './errors.js';

/** Largest unpacked archive accepted, and most entries. */
export const MAX_UNPACKED_BYTES = 128 * 1024 * 1024;
export const MAX_ENTRIES = 10_000;

export interface ArchiveFile {
  /** Normalized relative path, '/'-separated. */
  path: string;
  type: 'file' | 'directory';
  mode: number;
  data: Buffer;
}

/** Why an entry path is unsafe, or undefined when it is a plain relative path inside the archive. */
export function unsafePath(path: string): string | undefined {
  if (path.includes('\0')) return 'contains a NUL byte';
  if (path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path) || path.startsWith('\\')) return 'is an absolute path';
  const parts = path.split(/[\\/]+/);
  if (parts.includes('..')) return "climbs out of the archive with '..'";
  return undefined;
}

function normalize(path: string): string {
  return path
    .split(/[\\/]+/)
    .filter((p) => p && p !== '.')
    .join('/');
}

function refuse(archive: string, entry: string, detail: string): never {
  throw registryErrors.CX_ERR_ARCHIVE_UNSAFE({ archive, entry, detail });
}

/**
 * Parses a tar.gz and returns its files, or throws CX_ERR_ARCHIVE_UNSAFE / CX_ERR_ARCHIVE_INVALID.
 * Nothing is written to disk.
 */
export async function readPluginArchive(bytes: Uint8Array, archive: string): Promise<ArchiveFile[]> {
  let tarBytes: Buffer;
  try {
    tarBytes = gunzipSync(bytes, { maxOutputLength: MAX_UNPACKED_BYTES });
  } catch (e) {
    const why =
      (e as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE'
        ? `unpacks to more than ${MAX_UNPACKED_BYTES} bytes`
        : messageOf(e);
    throw registryErrors.CX_ERR_ARCHIVE_INVALID({ archive, detail: `is not a gzip-compressed tar archive (${why}).` });
  }
  if (!tarBytes.some((b) => b !== 0)) throw registryErrors.CX_ERR_ARCHIVE_INVALID({ archive, detail: 'is empty.' });
  const files: ArchiveFile[] = [];
  const seen = new Map<string, 'file' | 'directory'>();
  const pending: Promise<void>[] = [];
  let problem: unknown;
  const parser = new Parser({
    strict: true,
    onReadEntry: (entry: ReadEntry) => {
      try {
        if (problem) throw problem;
        if (files.length >= MAX_ENTRIES)
          throw registryErrors.CX_ERR_ARCHIVE_INVALID({ archive, detail: `has more than ${MAX_ENTRIES} entries.` });
        const raw = entry.path;
        const why = unsafePath(raw);
        if (why) refuse(archive, raw, why);
        switch (entry.type) {
          case 'File':
          case 'OldFile':
          case 'ContiguousFile':
          case 'Directory':
            break;
          case 'SymbolicLink':
          case 'Link': {
            const target = String(entry.linkpath ?? '');
            const kind = entry.type === 'Link' ? 'hard link' : 'symbolic link';
            const outside = unsafePath(target) !== undefined || escapes(raw, target, entry.type === 'Link');
            refuse(
              archive,
              raw,
              outside
                ? `is a ${kind} pointing outside the archive (to '${target}')`
                : `is a ${kind} (to '${target}'); plugin archives hold no links`,
            );
          }
          // falls through: refuse() never returns
          default:
            refuse(archive, raw, `is a ${String(entry.type).toLowerCase()}, not a plain file or directory`);
        }
        const path = normalize(raw);
        const type = entry.type === 'Directory' ? 'directory' : 'file';
        // One entry per path (a directory may repeat): a second plugin.yaml would be validated by
        // nobody and collide at install.
        const before = seen.get(path);
        if (path && before && (before === 'file' || type === 'file'))
          refuse(archive, raw, `is in the archive twice (as ${before === 'file' ? 'a file' : 'a directory'} before)`);
        if (path) seen.set(path, type);
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        pending.push(
          new Promise<void>((done) =>
            entry.on('end', () => {
              if (path) files.push({ path, type, mode: (entry.mode ?? 0o644) & 0o755, data: Buffer.concat(chunks) });
              done();
            }),
          ),
        );
      } catch (e) {
        problem ??= e;
        entry.resume();
      }
    },
  });
  await new Promise<void>((resolve, reject) => {
    parser.on('error', (e: Error) => {
      problem ??= registryErrors.CX_ERR_ARCHIVE_INVALID({
        archive,
        detail: `is not a valid tar archive (${e.message}).`,
      });
    });
    parser.on('end', resolve);
    parser.on('close', resolve);
    try {
      parser.end(tarBytes);
    } catch (e) {
      reject(e);
    }
  });
  await Promise.all(pending);
  if (problem) throw problem;
  if (!files.length) throw registryErrors.CX_ERR_ARCHIVE_INVALID({ archive, detail: 'is empty.' });
  return files;
}

/** Whether a link at `path` to `target` resolves outside the archive root. */
function escapes(path: string, target: string, hard: boolean): boolean {
  const base = hard ? [] : normalize(path).split('/').slice(0, -1);
  for (const part of target.split(/[\\/]+/)) {
    if (!part || part === '.') continue;
    if (part === '..') {
      if (!base.length) return true;
      base.pop();
    } else base.push(part);
  }
  return false;
}

/** The one file of the archive at `path`, if any. */
export function archiveFile(files: ArchiveFile[], path: string): ArchiveFile | undefined {
  return files.find((f) => f.type === 'file' && f.path === path);
}
