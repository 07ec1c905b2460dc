/* Generated from schemas/plugins-lock.schema.json by core/bin/gen-schema-types.js: edit the schema, not this file. */
/* schema-hash: 80912bf9c39eaaf6 */

/**
 * the signature's status as verified at install time, with the signature itself (when there was one) so that
 * another host can check it again
 */
export type LockedSignature =
  | {
      status: 'trusted';
      key_id: KeyId;
      /**
       * the trusted source's name
       */
      source: string;
      public_key?: PublicKey;
      signature?: Signature;
    }
  | {
      status: 'unknown-key';
      key_id: KeyId;
      public_key?: PublicKey;
      signature?: Signature;
    }
  | {
      status: 'unsigned';
    };
/**
 * first 16 hex digits of the sha256 of the raw public key
 */
export type KeyId = string;
/**
 * base64 raw ed25519 public key that signed the archive
 */
export type PublicKey = string;
/**
 * base64 signature, re-checked when the lock is installed on another host
 */
export type Signature = string;

/**
 * What `cx-ops plugins install` installed, pinned by sha256, so that `cx-ops plugins install --lock FILE`
 * repeats the same install on another host.
 */
export interface PluginsLock {
  lock_version: 1;
  plugins: {
    [k: string]: LockedPlugin;
  };
}
/**
 * one installed plugin
 */
export interface LockedPlugin {
  version: string;
  /**
   * the range asked for; `plugins update` stays within it
   */
  range?: string;
  /**
   * name of the registry it came from
   */
  registry: string;
  /**
   * the archive's absolute URL
   */
  url: string;
  sha256: string;
  signature: LockedSignature;
  tier: 'trusted' | 'sandboxed';
  grants?: string[];
  /**
   * relative path -> sha256 of every installed file
   */
  files: {
    [k: string]: string;
  };
  installed_at: string;
}
