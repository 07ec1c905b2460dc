/**
 * The registry plugin's coded errors. Codes and message templates are the same as the
 * catalogue entries in core/errors.ts (a test keeps the two in sync); a built-in plugin may not
 * import core/, so it carries its own copy and prints `error[CODE]: message` itself.
 */

/** Process exit code and message template of each code this plugin raises. */
export const REGISTRY_ERRORS = {
  CX_ERR_USAGE: {
    exit: 2,
    message: (p: Record<string, any>) => `${p.detail}${p.hint ? `\nTry: ${p.hint}` : ''}`,
  },
  CX_ERR_MANIFEST_INVALID: {
    exit: 2,
    message: (p: Record<string, any>) =>
      `${p.file}${p.line ? `:${p.line}` : ''}: field '${p.field}' ${p.detail}${p.found !== undefined ? ` (found: ${JSON.stringify(p.found)})` : ''}\nSee schemas/plugin.schema.json for the manifest format.`,
  },
  CX_ERR_STATE_LOCKED: {
    exit: 5,
    message: (p: Record<string, any>) =>
      `${p.what} is locked by another cx-ops run (pid ${p.pid}${p.command ? `, ${p.command}` : ''}).\nWait for it to finish, then run the command again.`,
  },
  CX_ERR_IO: {
    exit: 1,
    message: (p: Record<string, any>) => `${p.path}: ${p.detail}`,
  },
  CX_ERR_REGISTRY_DUPLICATE: {
    exit: 2,
    message: (p: Record<string, any>) =>
      `a registry named '${p.name}' already exists (${p.url}); nothing was changed.\nRemove it first (cx-ops registry remove ${p.name}) or choose another name.`,
  },
  CX_ERR_REGISTRY_UNKNOWN: {
    exit: 2,
    message: (p: Record<string, any>) =>
      `no registry named '${p.name}' (configured: ${p.known?.length ? p.known.join(', ') : '(none)'}).\nAdd it with: cx-ops registry add ${p.name} URL`,
  },
  CX_ERR_REGISTRY_UNREACHABLE: {
    exit: 1,
    message: (p: Record<string, any>) =>
      `registry '${p.name}' (${p.url}) is unreachable: ${p.detail}; there is no cached copy of its index.\nCheck the URL and the network, then run: cx-ops registry refresh ${p.name}`,
  },
  CX_ERR_REGISTRY_INDEX_INVALID: {
    exit: 2,
    message: (p: Record<string, any>) =>
      `${p.source}${p.line ? `:${p.line}` : ''}: field '${p.field}' ${p.detail}${p.found !== undefined ? ` (found: ${JSON.stringify(p.found)})` : ''}\nA registry index must match schemas/registry-index.schema.json; ask the registry's maintainer to republish it with: cx-ops registry publish DIR ARCHIVE`,
  },
  CX_ERR_REGISTRY_PLUGIN_UNKNOWN: {
    exit: 2,
    message: (p: Record<string, any>) =>
      `no plugin named '${p.plugin}' in ${p.where}.${p.suggestions?.length ? ` Did you mean: ${p.suggestions.join(', ')}?` : ''}\nSearch with: cx-ops plugins search TEXT`,
  },
  CX_ERR_VERSION_UNSATISFIED: {
    exit: 2,
    message: (p: Record<string, any>) =>
      `no version of '${p.plugin}' satisfies '${p.range}' and works with cx-ops ${p.kernel}. Available: ${p.available?.length ? p.available.join(', ') : '(none)'}.\n${p.hint}`,
  },
  CX_ERR_CHECKSUM_MISMATCH: {
    exit: 2,
    message: (p: Record<string, any>) =>
      `the archive of '${p.plugin}' ${p.version} (${p.url}) has sha256 ${p.actual}, but ${p.expectedFrom} says ${p.expected}. Nothing was installed${p.kept ? `; ${p.kept}` : ''}.\nThe archive or the index changed after publishing: tell the registry's maintainer, and do not install it.`,
  },
  CX_ERR_SIGNATURE_INVALID: {
    exit: 2,
    message: (p: Record<string, any>) =>
      `the signature of '${p.plugin}' ${p.version} does not match its archive (key ${p.keyId}). Nothing was installed${p.kept ? `; ${p.kept}` : ''}.\nThe archive was changed after signing: tell the registry's maintainer, and do not install it.`,
  },
  CX_ERR_NOT_TRUSTED: {
    exit: 3,
    message: (p: Record<string, any>) =>
      `'${p.plugin}' ${p.version} cannot be installed in the trusted tier: it is ${p.status}. Nothing was installed.\nInstall it sandboxed (without --trusted), or add its publisher's public key to plugins.trusted_sources in ${p.config}.`,
  },
  CX_ERR_ARCHIVE_UNSAFE: {
    exit: 2,
    message: (p: Record<string, any>) =>
      `${p.archive}: entry '${p.entry}' ${p.detail}; the archive was refused and nothing was written.\nA plugin archive holds only plain files and directories inside it; rebuild it with: cx-ops plugins pack DIR`,
  },
  CX_ERR_ARCHIVE_INVALID: {
    exit: 2,
    message: (p: Record<string, any>) => `${p.archive}: ${p.detail}\nRebuild it with: cx-ops plugins pack DIR`,
  },
  CX_ERR_VERSION_EXISTS: {
    exit: 2,
    message: (p: Record<string, any>) =>
      `${p.plugin} ${p.version} is already published in ${p.registry}; nothing was changed.\nA published version never changes: raise 'version' in plugin.yaml, then pack, sign and publish again.`,
  },
  CX_ERR_KEY_INVALID: {
    exit: 2,
    message: (p: Record<string, any>) => `${p.where}: ${p.detail}\nMake an ed25519 key pair with: cx-ops plugins keygen --out NAME`,
  },
  CX_ERR_NOT_INSTALLED: {
    exit: 2,
    message: (p: Record<string, any>) =>
      `'${p.plugin}' is not installed from a registry (it is not in ${p.lock}).\nSee installed plugins with: cx-ops plugins list`,
  },
} as const;

export type RegistryErrorCode = keyof typeof REGISTRY_ERRORS;

/** An error of this plugin: a catalogue code, its parameters and the resulting message. */
export class RegistryError extends Error {
  readonly code: RegistryErrorCode;
  readonly params: Record<string, any>;
  readonly exitCode: number;

  constructor(code: RegistryErrorCode, params: Record<string, any>) {
    super(REGISTRY_ERRORS[code].message(params));
    this.name = 'RegistryError';
    this.code = code;
    this.params = params;
    this.exitCode = REGISTRY_ERRORS[code].exit;
  }
}
