/**
 * The lean validator of schemas/deploy-manifest.schema.json: what a valid manifest (the usual
 * case) goes through. The build precompiles it (dist/plugins-builtin/deploy/
 * deploy-manifest.validator.cjs) so that no `deploy` command compiles the schema at start;
 * read-manifest compiles it here, once per process, only when that file is missing.
 */

/** The ajv options of the lean validator: stop at the first error. */
export const LEAN_MANIFEST_OPTIONS = { strict: true, allowUnionTypes: true } as const;

/** The file the build writes beside the compiled plugin. */
export const LEAN_MANIFEST_VALIDATOR = 'deploy-manifest.validator.cjs';

/**
 * The schema with each oneOf read as anyOf. Every oneOf of the manifest schema chooses between
 * disjoint types (a test checks), so the two accept the same documents; but oneOf tries every
 * branch and records an error object for each that does not match (two per service of a
 * 10,000-service manifest), where anyOf stops at the first match.
 */
export function leanManifestSchema(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(leanManifestSchema);
  if (s === null || typeof s !== 'object') return s;
  return Object.fromEntries(Object.entries(s).map(([k, v]) => [k === 'oneOf' ? 'anyOf' : k, leanManifestSchema(v)]));
}
