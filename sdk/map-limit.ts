/**
 * Bounded concurrency for plugin code. The kernel caps each plugin's capability calls in flight
 * (and refuses calls past a queue limit), so walking /proc or a directory of many files should go
 * through mapLimit rather than one Promise.all over everything.
 */

/** Maps `items` with at most `limit` calls of `fn` running at once; results keep the input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}
