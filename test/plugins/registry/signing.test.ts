import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import {
  checkSignature,
  generateKeys,
  readTrustedKeys,
  signArchive,
  signatureValid,
  weakerSignature,
} from '../../../plugins-builtin/registry/signing.js';
import { caps } from '../../core/capabilities/helpers.js';
import { tempDir } from './harness.js';

const fs = caps('registry').localFs;

let t: { dir: string; cleanup(): Promise<void> };
beforeEach(async () => {
  t = await tempDir('cx-signing-');
});
afterEach(() => t.cleanup());

async function keyPair(name: string) {
  const k = generateKeys();
  await writeFile(join(t.dir, `${name}.key`), k.privatePem, { mode: 0o600 });
  await writeFile(join(t.dir, `${name}.pub`), k.publicPem);
  return { ...k, keyFile: join(t.dir, `${name}.key`), pubFile: join(t.dir, `${name}.pub`) };
}

describe('ed25519 signatures over archives', () => {
  test('a signature verifies for the signed bytes only', async () => {
    const k = await keyPair('acme');
    const bytes = Buffer.from('archive bytes');
    const sig = await signArchive(fs, bytes, k.keyFile);
    expect(sig).toMatchObject({ algorithm: 'ed25519', key_id: k.keyId, public_key: k.publicRaw });
    expect(signatureValid(bytes, sig)).toBe(true);
    expect(signatureValid(Buffer.from('archive bytes!'), sig)).toBe(false);
    expect(signatureValid(bytes, { ...sig, key_id: 'ffffffffffffffff' })).toBe(false);
  });

  test('status: trusted by a configured key, unknown key, unsigned; a bad signature is refused', async () => {
    const acme = await keyPair('acme');
    const other = await keyPair('other');
    const bytes = Buffer.from('x');
    const trusted = [{ name: 'acme', keyId: acme.keyId, raw: Buffer.from(acme.publicRaw, 'base64') }];
    const what = { plugin: 'p', version: '1.0.0' };
    expect(checkSignature(bytes, await signArchive(fs, bytes, acme.keyFile), trusted, what)).toEqual({
      status: 'trusted',
      key_id: acme.keyId,
      source: 'acme',
    });
    expect(checkSignature(bytes, await signArchive(fs, bytes, other.keyFile), trusted, what)).toEqual({
      status: 'unknown-key',
      key_id: other.keyId,
    });
    expect(checkSignature(bytes, undefined, trusted, what)).toEqual({ status: 'unsigned' });
    const forged = { ...(await signArchive(fs, bytes, other.keyFile)), public_key: acme.publicRaw, key_id: acme.keyId };
    expect(() => checkSignature(bytes, forged, trusted, what)).toThrow(
      /^the signature of 'p' 1\.0\.0 does not match its archive \(key [0-9a-f]{16}\)\. Nothing was installed\./,
    );
  });

  test('a malformed signature record is reported as malformed, not as a changed archive', async () => {
    const k = await keyPair('acme');
    const bytes = Buffer.from('x');
    const sig = await signArchive(fs, bytes, k.keyFile);
    const what = { plugin: 'p', version: '1.0.0', from: 'the index of registry team' };
    const cases: Array<[Partial<typeof sig>, string]> = [
      [{ public_key: 'not base64!' }, 'its public_key is not base64 text'],
      [{ public_key: Buffer.alloc(31).toString('base64') }, 'its public_key is 31 bytes, not a 32-byte ed25519 key'],
      [{ key_id: 'ffffffffffffffff' }, `its key_id 'ffffffffffffffff' is not the id of its public_key (${k.keyId})`],
      [{ signature: 'abc' }, 'its signature is not base64 text'],
      [
        { signature: Buffer.alloc(10).toString('base64') },
        'its signature is 10 bytes, not a 64-byte ed25519 signature',
      ],
    ];
    for (const [change, detail] of cases)
      expect(() => checkSignature(bytes, { ...sig, ...change }, [], what)).toThrow(
        expect.objectContaining({
          code: 'CX_ERR_SIGNATURE_MALFORMED',
          message: `the signature of 'p' 1.0.0 in the index of registry team is malformed: ${detail}. Nothing was installed.\nThe record was not written by cx-ops plugins sign, or was damaged: tell the registry's maintainer to sign and publish it again.`,
        }),
      );
  });

  test('weakerSignature: a lower status, or another untrusted key, is weaker; the same or higher is not', () => {
    const trusted = { status: 'trusted', key_id: 'aaaaaaaaaaaaaaaa', source: 'acme' } as const;
    const unknown = { status: 'unknown-key', key_id: 'aaaaaaaaaaaaaaaa' } as const;
    const other = { status: 'unknown-key', key_id: 'bbbbbbbbbbbbbbbb' } as const;
    const unsigned = { status: 'unsigned' } as const;
    expect(weakerSignature(trusted, unsigned)).toBe("trusted (signed by 'acme', key aaaaaaaaaaaaaaaa) -> unsigned");
    expect(weakerSignature(trusted, unknown)).toBe(
      "trusted (signed by 'acme', key aaaaaaaaaaaaaaaa) -> signed by an unknown key (aaaaaaaaaaaaaaaa)",
    );
    expect(weakerSignature(unknown, unsigned)).toBe('signed by an unknown key (aaaaaaaaaaaaaaaa) -> unsigned');
    expect(weakerSignature(unknown, other)).toBe(
      'signed by an unknown key (aaaaaaaaaaaaaaaa) -> signed by another key, not trusted (bbbbbbbbbbbbbbbb)',
    );
    for (const [a, b] of [
      [unsigned, unsigned],
      [unsigned, other],
      [unknown, unknown],
      [unknown, trusted],
      [trusted, trusted],
      [trusted, { ...trusted, key_id: 'cccccccccccccccc', source: 'acme-2' }],
    ] as const)
      expect(weakerSignature(a, b)).toBeUndefined();
  });

  test('trusted_sources accepts base64 raw keys, PEM text, key file paths; a bare name is reported and skipped', async () => {
    const a = await keyPair('a');
    const b = await keyPair('b');
    const c = await keyPair('c');
    await mkdir(join(t.dir, 'etc'));
    await writeFile(
      join(t.dir, 'etc', 'config.yaml'),
      `plugins:\n  trusted_sources:\n    - cortexlinux\n    - name: a\n      public_key: ${a.publicRaw}\n    - name: b\n      public_key: |\n${b.publicPem
        .trim()
        .split('\n')
        .map((l) => `        ${l}`)
        .join('\n')}\n    - name: c\n      public_key: ${c.pubFile}\n`,
    );
    const warnings: string[] = [];
    const keys = await readTrustedKeys(fs, join(t.dir, 'etc'), (m: string) => warnings.push(m));
    expect(keys.map((k) => [k.name, k.keyId])).toEqual([
      ['a', a.keyId],
      ['b', b.keyId],
      ['c', c.keyId],
    ]);
    expect(warnings).toEqual([
      `warning: ${join(t.dir, 'etc', 'config.yaml')}: plugins.trusted_sources[0] ('cortexlinux') names a publisher without a public key, so it verifies nothing; write { name: cortexlinux, public_key: ... }.\n`,
    ]);
  });

  test('a key that is not ed25519 is a clear error', async () => {
    await mkdir(join(t.dir, 'etc'));
    await writeFile(
      join(t.dir, 'etc', 'config.yaml'),
      'plugins:\n  trusted_sources:\n    - name: x\n      public_key: bm90IGEga2V5\n',
    );
    await expect(readTrustedKeys(fs, join(t.dir, 'etc'))).rejects.toMatchObject({
      code: 'CX_ERR_KEY_INVALID',
      message: expect.stringMatching(/config\.yaml: plugins\.trusted_sources\[0\]: is not an ed25519 public key/),
    });
  });
});
