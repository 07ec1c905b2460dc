/** sha256 of archives and installed files (node:crypto: pure computation, no I/O). */
import { createHash } from 'node:crypto';

/** Hex sha256 of bytes or text. */
export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}
