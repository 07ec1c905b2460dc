/** Who holds a TCP port: `ss -ltnpH` (read-only), for the "port already in use" message. */
import type { ExecCapability } from 'cx-ops/sdk';

/** E.g. `node (pid 1234)`; undefined when ss is missing or does not say (another user's process). */
export async function portHolder(exec: ExecCapability, port: number): Promise<string | undefined> {
  const r = await exec
    .run('ss', ['-H', '-l', '-t', '-n', '-p', `sport = :${port}`], { timeoutMs: 3000, readOnly: true })
    .catch(() => undefined);
  if (!r || r.exitCode !== 0) return undefined;
  const users = [...r.stdout.matchAll(/\("([^"]+)",pid=(\d+)/g)].map((m) => `${m[1]} (pid ${m[2]})`);
  return users.length ? [...new Set(users)].join(', ') : undefined;
}
