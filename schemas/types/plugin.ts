/* Generated from schemas/plugin.schema.json by core/bin/gen-schema-types.js: edit the schema, not this file. */
/* schema-hash: 6ddad7b1c79d9af0 */

export interface PluginManifest {
  /**
   * kebab-case plugin name
   */
  name: string;
  /**
   * semver version
   */
  version: string;
  description: string;
  author?: string;
  license?: string;
  homepage?: string;
  plugin_type:
    'command' | 'check' | 'connector' | 'fix' | 'task' | 'updater' | 'repair' | 'service-manager' | 'library';
  /**
   * entry file relative to the plugin directory: an ES module whose default export is definePlugin(...)
   */
  main: string;
  /**
   * semver range of kernel versions this plugin works with
   */
  cx_version: string;
  /**
   * requested tier; only built-in plugins and plugins from trusted sources may run trusted
   */
  tier?: 'trusted' | 'sandboxed';
  permissions?: {
    exec?: (
      | string
      | {
          command: string;
          args?: string[];
        }
    )[];
    read?: string[];
    write?: string[];
    net?: string[];
    /**
     * may list other plugins' contributions
     */
    registry?: boolean;
  };
  /**
   * other plugins this one needs, with semver ranges
   */
  requires?: {
    [k: string]: string;
  };
  /**
   * this plugin's section of config.yaml (default: its name). A section named otherwise is shared: the plugin
   * owns the settings its config_schema lists under properties (the built-in check plugins share checks:,
   * each owning the sub-sections of its own check ids), sees only those, and a setting no plugin owns is an
   * error
   */
  config_key?: string;
  /**
   * JSON Schema of this plugin's config section
   */
  config_schema?: {
    [k: string]: unknown;
  };
  limits?: {
    memory_mb?: number;
    call_timeout_ms?: number;
  };
  keywords?: string[];
}
