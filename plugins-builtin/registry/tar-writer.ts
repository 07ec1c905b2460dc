/**
 * Writing a plugin archive in memory: a ustar stream of plain files (sorted, mode 0644, owner 0,
 * mtime 0, so the same files always give the same bytes), gzip-compressed. Pure computation:
 * the bytes are written by the caller through ctx.localFs.
 */
import { gzipSync } from 'node:zlib';
import { Header, Pax } from 'tar';

export interface TarFile {
  path: string;
  data: Uint8Array;
}

const EPOCH = new Date(0);
const BLOCK = 512;

/** The .tgz bytes of `files`. */
export function tarGz(files: TarFile[]): Uint8Array {
  const blocks: Buffer[] = [];
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    const header = new Header({
      path: f.path,
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: f.data.byteLength,
      mtime: EPOCH,
      type: 'File',
      uname: '',
      gname: '',
    });
    const block = Buffer.alloc(BLOCK);
    // A path longer than ustar holds goes into a pax header before the entry.
    if (header.encode(block, 0)) blocks.push(new Pax({ path: f.path, mtime: EPOCH, size: f.data.byteLength }).encode());
    blocks.push(block, Buffer.from(f.data), Buffer.alloc((BLOCK - (f.data.byteLength % BLOCK)) % BLOCK));
  }
  blocks.push(Buffer.alloc(2 * BLOCK));
  const gz = gzipSync(Buffer.concat(blocks), { level: 9 });
  return new Uint8Array(gz.buffer, gz.byteOffset, gz.byteLength);
}
