/* Generated from schemas/registry-index.schema.json by core/bin/gen-schema-types.js: edit the schema, not this file. */
/* schema-hash: c91effe6ea38f8ec */

/**
 * The static index of a plugin registry: every published version of every plugin, with what is needed to
 * choose, verify and install it. Written by `cx-ops registry publish`.
 */
export interface RegistryIndex {
  /**
   * format version of this file
   */
  api_version: 1;
  /**
   * ISO time of the last publish
   */
  generated?: string;
  /**
   * plugin name -> its published versions
   */
  plugins: {
    [k: string]: IndexVersion[];
  };
}
/**
 * one published version of a plugin
 */
export interface IndexVersion {
  version: string;
  description: string;
  author?: string;
  license?: string;
  homepage?: string;
  keywords?: string[];
  plugin_type: string;
  /**
   * semver range of kernel versions the version works with
   */
  cx_version: string;
  /**
   * the tier the manifest asks for
   */
  tier?: 'trusted' | 'sandboxed';
  /**
   * requested permissions as grant strings (exec:…, read:…, write:…, net:…, registry)
   */
  permissions: string[];
  /**
   * archive URL, absolute or relative to the index
   */
  archive: string;
  sha256: string;
  size?: number;
  signature?: IndexSignature;
  /**
   * ISO time of publishing
   */
  published?: string;
}
/**
 * an ed25519 signature of the archive
 */
export interface IndexSignature {
  algorithm: 'ed25519';
  /**
   * first 16 hex digits of the sha256 of the raw public key
   */
  key_id: string;
  /**
   * base64 of the raw 32-byte ed25519 public key
   */
  public_key: string;
  /**
   * base64 ed25519 signature of the archive bytes
   */
  signature: string;
}
