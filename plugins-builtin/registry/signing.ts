/**
 * ed25519 signatures over plugin archives (node:crypto; key files are read through ctx.localFs).
 * `plugins keygen` writes a PEM key pair,
 * `plugins sign` writes ARCHIVE.sig (JSON: algorithm, key_id, public_key, signature), and an
 * install checks the signature against the publishers' keys in config.yaml's
 * `plugins.trusted_sources`:
 *
 *   plugins:
 *     trusted_sources:
 *       - name: acme
 *         public_key: MCowBQYDK2VwAyEA...   # base64 raw key, base64 SPKI DER, PEM text, or a path to a .pub file
 */
import { isCxError, messageOf, type FsCapability } from 'cx-ops/sdk';
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { registryErrors } from './errors.js';
import { readBytesIfExists, utf8 } from './local-files.js';
import { readPluginsSection } from './plugins-config.js';
import type { IndexSignature } from './registry-index.js';
import { sha256 } from './sha256.js';

/** A publisher key the user trusts. */
export interface TrustedKey {
  name: string;
  keyId: string;
  raw: Buffer;
}

/** What an install found out about a signature (stored in the lock, shown by `plugins info`). */
export type SignatureStatus =
  | { status: 'trusted'; key_id: string; source: string }
  | { status: 'unknown-key'; key_id: string }
  | { status: 'unsigned' };

/** First 16 hex digits of the sha256 of the raw 32-byte public key. */
export const keyIdOf = (raw: Uint8Array) => sha256(raw).slice(0, 16);

function rawOf(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' }) as { crv?: string; x?: string };
  if (jwk.crv !== 'Ed25519' || !jwk.x) throw new Error(`is a ${key.asymmetricKeyType} key, not ed25519`);
  return Buffer.from(jwk.x, 'base64url');
}

function publicFromRaw(raw: Buffer): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

/** A new key pair as PEM text (private PKCS#8, public SPKI) and its key id. */
export function generateKeys(): { privatePem: string; publicPem: string; keyId: string; publicRaw: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = rawOf(publicKey);
  return {
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    keyId: keyIdOf(raw),
    publicRaw: raw.toString('base64'),
  };
}

/** Why a file could not be read, as the capability says it (no path prefix). */
const readProblem = (e: unknown) =>
  isCxError(e) ? String(e.params.detail ?? e.message) : e instanceof Error ? e.message : String(e);

/** Signs archive bytes with a PEM private key file (read through `fs`: ctx.localFs). */
export async function signArchive(fs: FsCapability, bytes: Uint8Array, keyFile: string): Promise<IndexSignature> {
  const pem = await readBytesIfExists(fs, keyFile).catch((e: unknown) => {
    throw registryErrors.CX_ERR_KEY_INVALID({ where: keyFile, detail: `cannot be read (${readProblem(e)})` });
  });
  if (!pem) throw registryErrors.CX_ERR_KEY_INVALID({ where: keyFile, detail: 'no such key file' });
  let key: KeyObject;
  try {
    key = createPrivateKey(Buffer.from(pem));
  } catch (e) {
    throw registryErrors.CX_ERR_KEY_INVALID({ where: keyFile, detail: `not a PEM private key (${messageOf(e)})` });
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw registryErrors.CX_ERR_KEY_INVALID({
      where: keyFile,
      detail: `is a ${key.asymmetricKeyType} key; cx-ops signs with ed25519`,
    });
  const raw = rawOf(createPublicKey(key));
  return {
    algorithm: 'ed25519',
    key_id: keyIdOf(raw),
    public_key: raw.toString('base64'),
    signature: sign(null, bytes, key).toString('base64'),
  };
}

/** The bytes of strict base64 text (Buffer.from skips what is not base64), or undefined. */
function strictBase64(text: string): Buffer | undefined {
  return /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)
    ? Buffer.from(text, 'base64')
    : undefined;
}

/**
 * What is wrong with the form of a signature record (not whether it matches the bytes), or
 * undefined: a record that is malformed is reported as such, never as "the archive was changed".
 */
export function signatureFormProblem(sig: IndexSignature): string | undefined {
  const raw = strictBase64(sig.public_key);
  if (!raw) return 'its public_key is not base64 text';
  if (raw.length !== 32) return `its public_key is ${raw.length} bytes, not a 32-byte ed25519 key`;
  if (keyIdOf(raw) !== sig.key_id)
    return `its key_id '${sig.key_id}' is not the id of its public_key (${keyIdOf(raw)})`;
  const s = strictBase64(sig.signature);
  if (!s) return 'its signature is not base64 text';
  if (s.length !== 64) return `its signature is ${s.length} bytes, not a 64-byte ed25519 signature`;
  return undefined;
}

/** Whether `sig` is a well-formed, valid signature of `bytes` by the public key it names. */
export function signatureValid(bytes: Uint8Array, sig: IndexSignature): boolean {
  if (signatureFormProblem(sig)) return false;
  try {
    return verify(
      null,
      bytes,
      publicFromRaw(Buffer.from(sig.public_key, 'base64')),
      Buffer.from(sig.signature, 'base64'),
    );
  } catch {
    return false;
  }
}

/** Reads a detached ARCHIVE.sig written by `plugins sign`; undefined when there is none. */
export async function readSignatureFile(fs: FsCapability, file: string): Promise<IndexSignature | undefined> {
  const text = await readBytesIfExists(fs, file);
  if (!text) return undefined;
  try {
    const s = JSON.parse(utf8(text));
    if (
      s?.algorithm !== 'ed25519' ||
      typeof s.key_id !== 'string' ||
      typeof s.public_key !== 'string' ||
      typeof s.signature !== 'string'
    )
      throw new Error('missing fields');
    const sig: IndexSignature = {
      algorithm: 'ed25519',
      key_id: s.key_id,
      public_key: s.public_key,
      signature: s.signature,
    };
    const problem = signatureFormProblem(sig);
    if (problem) throw new Error(problem);
    return sig;
  } catch (e) {
    throw registryErrors.CX_ERR_KEY_INVALID({
      where: file,
      detail: `is not a signature file written by cx-ops plugins sign (${messageOf(e)})`,
    });
  }
}

/** A public key given as PEM text, base64 raw key, base64 SPKI DER, or a path to a PEM file. */
async function parsePublicKey(fs: FsCapability, text: string, where: string): Promise<Buffer> {
  let t = text.trim();
  // A base64 raw key may start with '/' too: only what is not one is a path.
  if (t.startsWith('/') && !/^[A-Za-z0-9+/]{43}=$/.test(t)) {
    const file = t;
    try {
      t = (await fs.readFile(file)).trim();
    } catch (e) {
      throw registryErrors.CX_ERR_KEY_INVALID({
        where,
        detail: `cannot read the key file ${file} (${readProblem(e)})`,
      });
    }
  }
  try {
    if (t.startsWith('-----BEGIN')) return rawOf(createPublicKey(t));
    const der = Buffer.from(t, 'base64');
    if (der.length === 32) return der;
    return rawOf(createPublicKey({ key: der, format: 'der', type: 'spki' }));
  } catch (e) {
    throw registryErrors.CX_ERR_KEY_INVALID({ where, detail: `is not an ed25519 public key (${messageOf(e)})` });
  }
}

/**
 * The trusted publisher keys of config.yaml's plugins.trusted_sources. A bare name with no key
 * (the seed's `- cortexlinux`) cannot verify anything: it is reported through `warn` and skipped.
 */
export async function readTrustedKeys(
  fs: FsCapability,
  configDir: string,
  warn: (m: string) => void = () => {},
): Promise<TrustedKey[]> {
  const { file, trusted_sources: list } = await readPluginsSection(fs, configDir);
  const keys: TrustedKey[] = [];
  for (const [i, item] of list.entries()) {
    const entry = item as string | { name?: unknown; public_key?: unknown } | null;
    const where = `${file}: plugins.trusted_sources[${i}]`;
    let name: string;
    let keyText: string;
    if (typeof entry === 'string') {
      if (/^[a-z0-9][a-z0-9._-]*$/i.test(entry) && entry.length < 40) {
        warn(
          `warning: ${where} ('${entry}') names a publisher without a public key, so it verifies nothing; write { name: ${entry}, public_key: ... }.\n`,
        );
        continue;
      }
      keyText = entry;
      name = '';
    } else if (entry && typeof entry === 'object' && typeof entry.public_key === 'string') {
      keyText = entry.public_key;
      name = String(entry.name ?? '');
    } else continue;
    const raw = await parsePublicKey(fs, keyText, where);
    keys.push({ name: name || `key ${keyIdOf(raw)}`, keyId: keyIdOf(raw), raw });
  }
  return keys;
}

/**
 * The signature status of archive bytes: trusted (valid, by a trusted key), unknown-key (valid,
 * by a key not trusted), unsigned. A signature that does not match the bytes throws
 * CX_ERR_SIGNATURE_INVALID.
 */
export function checkSignature(
  bytes: Uint8Array,
  sig: IndexSignature | undefined,
  trusted: TrustedKey[],
  what: { plugin: string; version: string; kept?: string; from?: string },
): SignatureStatus {
  if (!sig) return { status: 'unsigned' };
  const problem = signatureFormProblem(sig);
  if (problem)
    throw registryErrors.CX_ERR_SIGNATURE_MALFORMED({ ...what, from: what.from ?? 'its index entry', detail: problem });
  if (!signatureValid(bytes, sig)) throw registryErrors.CX_ERR_SIGNATURE_INVALID({ ...what, keyId: sig.key_id });
  const raw = Buffer.from(sig.public_key, 'base64');
  const source = trusted.find((k) => k.raw.equals(raw));
  return source
    ? { status: 'trusted', key_id: sig.key_id, source: source.name }
    : { status: 'unknown-key', key_id: sig.key_id };
}

/** How much a status vouches for an archive: trusted > signed by an unknown key > unsigned. */
const RANK: Record<SignatureStatus['status'], number> = { unsigned: 0, 'unknown-key': 1, trusted: 2 };

/**
 * How `after` is weaker than `before` (a lower status, or signed by another key that is not
 * trusted), or undefined when it is not: an update or a lock install that would lower a
 * plugin's signature status is refused unless the operator says so.
 */
export function weakerSignature(before: SignatureStatus, after: SignatureStatus): string | undefined {
  if (RANK[after.status] < RANK[before.status]) return `${describeStatus(before)} -> ${describeStatus(after)}`;
  if (before.status !== 'unsigned' && after.status === 'unknown-key' && after.key_id !== before.key_id)
    return `${describeStatus(before)} -> signed by another key, not trusted (${after.key_id})`;
  return undefined;
}

/** How `plugins info` words a status. */
export function describeStatus(s: SignatureStatus | { status: 'modified' }): string {
  switch (s.status) {
    case 'trusted':
      return `trusted (signed by '${s.source}', key ${s.key_id})`;
    case 'unknown-key':
      return `signed by an unknown key (${s.key_id})`;
    case 'unsigned':
      return 'unsigned';
    case 'modified':
      return 'modified (files changed since install)';
  }
}
