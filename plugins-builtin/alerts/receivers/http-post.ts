/** A JSON POST through the plugin's net capability, as the HTTP receivers send it. */
import { messageOf, type Json, type NetCapability } from 'cx-ops/sdk';
import type { ReceiverOutput } from '../receiver-kind.js';

export async function postJson(
  net: NetCapability,
  url: string,
  body: unknown,
  o: { headers?: Record<string, string>; okStatuses?: number[]; timeoutMs?: number } = {},
): Promise<ReceiverOutput> {
  try {
    const r = await net.http({
      url,
      method: 'POST',
      headers: { 'content-type': 'application/json', ...o.headers },
      body: JSON.stringify(body),
      timeoutMs: o.timeoutMs ?? 8000,
    });
    const ok = o.okStatuses ? o.okStatuses.includes(r.status) : r.status >= 200 && r.status < 300;
    return { ok, status: r.status, detail: ok ? `HTTP ${r.status}` : `HTTP ${r.status}: ${r.body.slice(0, 200)}` };
  } catch (e) {
    return { ok: false, detail: messageOf(e) };
  }
}

/** The settings schema of a receiver whose one setting is its service's URL. */
export const URL_SETTINGS: Record<string, Json> = {
  type: 'object',
  additionalProperties: false,
  required: ['url'],
  properties: { url: { type: 'string', pattern: '^https?://' } },
};
