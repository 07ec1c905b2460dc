/* Generated from schemas/plugin-shape.schema.json by core/bin/gen-schema-types.js: edit the schema, not this file. */
/* schema-hash: cf85acf8649344f8 */

/**
 * a plugin, kind, contribution id, hook or config field name
 */
export type Name = string;
/**
 * Any JSON value
 */
export type Json =
  | null
  | boolean
  | number
  | string
  | Json[]
  | {
      [k: string]: Json;
    };

/**
 * The plain-data description of a plugin definition (definePlugin): what it contributes, taps and declares. A
 * sandboxed plugin's isolate sends it as JSON text; a trusted plugin's is taken from its definition; both are
 * validated against this schema and cached between runs.
 */
export interface PluginShape {
  name: Name;
  contributes: {
    kind: Name;
    id: Name;
    meta: JsonObject;
    configField?: Name;
  }[];
  taps: {
    hook: Name;
    /**
     * lower runs first
     */
    priority?: number;
    /**
     * the tap's position in the definition's taps
     */
    index: number;
  }[];
  kinds: {
    kind: Name;
    description: string;
    metaSchema?: JsonObject;
  }[];
  hooks: {
    name: Name;
    description: string;
    type: 'series' | 'bail' | 'waterfall';
  }[];
  hasActivate: boolean;
  hasDeactivate: boolean;
  /**
   * the plugin's own error codes (defineErrors), with their exit codes
   */
  errors?: {
    code: string;
    exit: number;
    summary: string;
  }[];
}
export interface JsonObject {
  [k: string]: Json;
}
