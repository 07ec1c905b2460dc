/**
 * Receivers' secrets (a Slack webhook URL, a PagerDuty routing key, an SMTP password): alerts.yaml
 * names a 0600 file (`NAME_file`) or an environment variable (`NAME_env`), never the value. A
 * missing or readable-by-others file marks the receiver broken, naming the file; the rules keep
 * loading. Every text the plugin shows or stores passes through redact(), so a secret never
 * reaches a log, --json, the dashboard or an error message.
 */
import type { FsCapability, Json } from 'cx-ops/sdk';
import type { ReceiverConfig } from './alert-types.js';

export interface ResolvedReceiver {
  settings: Record<string, Json>;
  /** The secret values (to redact). */
  secrets: string[];
  /** Why the receiver cannot be used (a missing secret), or undefined. */
  broken?: string;
}

/** The receiver's settings with its secrets read (`x_file` / `x_env` become `x`). */
export async function resolveReceiver(
  fs: Pick<FsCapability, 'stat' | 'readFile'>,
  r: ReceiverConfig,
  secretNames: string[],
  env: Record<string, string | undefined>,
): Promise<ResolvedReceiver> {
  const settings: Record<string, Json> = {};
  const secrets: string[] = [];
  let broken: string | undefined;
  for (const [k, v] of Object.entries(r.settings)) {
    if (k === 'type') continue;
    const ref = /^(.*)_(file|env)$/.exec(k);
    if (!ref || !secretNames.includes(ref[1]!) || typeof v !== 'string') {
      settings[k] = v;
      continue;
    }
    const name = ref[1]!;
    if (ref[2] === 'env') {
      const value = env[v];
      if (value === undefined || value === '') broken ??= `${k}: the environment variable ${v} is not set`;
      else {
        settings[name] = value;
        secrets.push(value);
      }
      continue;
    }
    const st = await fs.stat(v);
    if (!st) broken ??= `${k}: the secret file ${v} does not exist`;
    else if (st.type !== 'file') broken ??= `${k}: ${v} is not a regular file`;
    else if ((st.mode & 0o077) !== 0)
      broken ??= `${k}: ${v} has mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}, so others can read the secret; fix it with: chmod 0600 ${v}`;
    else {
      const value = (await fs.readFile(v)).trim();
      if (!value) broken ??= `${k}: the secret file ${v} is empty`;
      else {
        settings[name] = value;
        secrets.push(value);
      }
    }
  }
  return { settings, secrets, ...(broken ? { broken } : {}) };
}

/** `text` with every secret replaced by [secret]. */
export function redact(text: string, secrets: Iterable<string>): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[secret]');
  return out;
}
