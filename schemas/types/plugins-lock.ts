/* Generated from schemas/plugins-lock.schema.json by core/bin/gen-schema-types.js: edit the schema, not this file. */
/* schema-hash: 1afd083277a101d2 */

/**
 * What `cx-ops plugins install` installed, pinned by sha256, so that `cx-ops plugins install --lock FILE`
 * repeats the same install on another host.
 */
export interface PluginsLock {
  lock_version: 1;
  plugins: {
    [k: string]: {
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
      signature: {
        /**
         * as verified at install time
         */
        status: 'trusted' | 'unknown-key' | 'unsigned';
        key_id?: string;
        /**
         * the trusted source's name
         */
        source?: string;
        /**
         * base64 raw ed25519 public key that signed the archive
         */
        public_key?: string;
        /**
         * base64 signature, re-checked when the lock is installed on another host
         */
        signature?: string;
      };
      tier: 'trusted' | 'sandboxed';
      grants?: string[];
      /**
       * relative path -> sha256 of every installed file
       */
      files: {
        [k: string]: string;
      };
      installed_at: string;
    };
  };
}
