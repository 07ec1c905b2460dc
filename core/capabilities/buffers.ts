/**
 * Read buffers for streaming a file (hash, copy): a few are kept and handed out again, so a
 * thousand 1 MiB hashes allocate a few megabytes instead of a gigabyte of garbage for the GC.
 */
const SIZE = 1024 * 1024;
/** Buffers kept for reuse at most (calls in flight beyond that allocate and drop theirs). */
const KEEP = 8;
const free: Buffer[] = [];

/** Runs `f` with a buffer of min(1 MiB, size) bytes (at least 1), given back afterwards. */
export async function withBuffer<T>(size: number, f: (buf: Buffer) => Promise<T>): Promise<T> {
  if (size < 64 * 1024) return f(Buffer.allocUnsafe(Math.max(size, 1)));
  const buf = free.pop() ?? Buffer.allocUnsafeSlow(SIZE);
  try {
    return await f(buf);
  } finally {
    if (free.length < KEEP) free.push(buf);
  }
}
