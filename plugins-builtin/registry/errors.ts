/**
 * The registry plugin's own error codes (plugin registries, archives, signatures, the lock
 * file). Raise one with `throw registryErrors.CX_ERR_REGISTRY_UNKNOWN({ ... })`.
 */
import { defineErrors } from 'cx-ops/sdk';

export const registryErrors = defineErrors({
  CX_ERR_REGISTRY_DUPLICATE: {
    summary: 'A registry of that name is already configured.',
    exit: 2,
    message: (p) =>
      `a registry named '${p.name}' already exists (${p.url}); nothing was changed.\nRemove it first (cx-ops registry remove ${p.name}) or choose another name.`,
  },
  CX_ERR_REGISTRY_UNKNOWN: {
    summary: 'No registry of that name is configured.',
    exit: 2,
    message: (p) =>
      `no registry named '${p.name}' (configured: ${p.known?.length ? p.known.join(', ') : '(none)'}).\nAdd it with: cx-ops registry add ${p.name} URL`,
  },
  CX_ERR_REGISTRY_UNREACHABLE: {
    summary: 'A plugin registry cannot be reached and no cached index exists.',
    exit: 1,
    message: (p) =>
      `registry '${p.name}' (${p.url}) is unreachable: ${p.detail}; there is no cached copy of its index.\nCheck the URL and the network, then run: cx-ops registry refresh ${p.name}`,
  },
  CX_ERR_REGISTRY_INDEX_INVALID: {
    summary: 'A registry index does not match the registry index schema.',
    exit: 2,
    message: (p) =>
      `${p.source}${p.line ? `:${p.line}` : ''}: field '${p.field}' ${p.detail}${p.found !== undefined ? ` (found: ${JSON.stringify(p.found)})` : ''}\nA registry index must match schemas/registry-index.schema.json; ask the registry's maintainer to republish it with: cx-ops registry publish DIR ARCHIVE`,
  },
  CX_ERR_REGISTRIES_INVALID: {
    summary: "The operator's registries.yaml does not match its schema.",
    exit: 2,
    message: (p) =>
      `${p.file}${p.line ? `:${p.line}` : ''}: field '${p.field}' ${p.detail}${p.found !== undefined ? ` (found: ${JSON.stringify(p.found)})` : ''}\nFix that in ${p.file} (format: schemas/registries.schema.json, e.g. "registries: [{ name: team, url: https://plugins.example.com/cx/ }]"); cx-ops registry add|remove change the file only once it is valid.`,
  },
  CX_ERR_LOCK_INVALID: {
    summary: 'A plugin lock file does not parse or does not match its schema.',
    exit: 2,
    message: (p) =>
      `${p.file}${p.line ? `:${p.line}${p.column ? `:${p.column}` : ''}` : ''}: ${p.detail}\nA plugin lock file must match schemas/plugins-lock.schema.json: fix it, or restore the copy written by cx-ops plugins install; nothing was changed.`,
  },
  CX_ERR_REGISTRY_PLUGIN_UNKNOWN: {
    summary: 'No configured registry offers a plugin of that name.',
    exit: 2,
    message: (p) => `no plugin named '${p.plugin}' in ${p.where}.\nSearch with: cx-ops plugins search TEXT`,
  },
  CX_ERR_VERSION_UNSATISFIED: {
    summary: 'No published version satisfies the asked-for range and the running kernel.',
    exit: 2,
    message: (p) =>
      `no version of '${p.plugin}' satisfies '${p.range}' and works with cx-ops ${p.kernel}. Available: ${p.available?.length ? p.available.join(', ') : '(none)'}.\n${p.next}`,
  },
  CX_ERR_CHECKSUM_MISMATCH: {
    summary: "A plugin archive's sha256 differs from the index or lock file.",
    exit: 2,
    message: (p) =>
      `the archive of '${p.plugin}' ${p.version} (${p.url}) has sha256 ${p.actual}, but ${p.expectedFrom} says ${p.expected}. Nothing was installed${p.kept ? `; ${p.kept}` : ''}.\nThe archive or the index changed after publishing: tell the registry's maintainer, and do not install it.`,
  },
  CX_ERR_SIGNATURE_INVALID: {
    summary: 'A plugin archive does not match its ed25519 signature.',
    exit: 2,
    message: (p) =>
      `the signature of '${p.plugin}' ${p.version} does not match its archive (key ${p.keyId}). Nothing was installed${p.kept ? `; ${p.kept}` : ''}.\nThe archive was changed after signing: tell the registry's maintainer, and do not install it.`,
  },
  CX_ERR_SIGNATURE_MALFORMED: {
    summary: "A plugin archive's signature record is malformed (not base64, wrong length, key id not the key's).",
    exit: 2,
    message: (p) =>
      `the signature of '${p.plugin}' ${p.version} in ${p.from} is malformed: ${p.detail}. Nothing was installed${p.kept ? `; ${p.kept}` : ''}.\nThe record was not written by cx-ops plugins sign, or was damaged: tell the registry's maintainer to sign and publish it again.`,
  },
  CX_ERR_SIGNATURE_WEAKER: {
    summary: "An update or lock install would lower a plugin's signature status (trusted -> unknown key -> unsigned).",
    exit: 3,
    message: (p) =>
      `'${p.plugin}' ${p.version} would lower its signature status: ${p.change} (compared with ${p.against}). Nothing was installed${p.kept ? `; ${p.kept}` : ''}.\nA build that lost its signature or changed keys may have been swapped: check with the publisher. If the change is expected, run: ${p.retry} --allow-weaker-signature`,
  },
  CX_ERR_SIGNATURE_REQUIRED: {
    summary: 'A plugin archive is not signed by a trusted source, and signatures are required.',
    exit: 3,
    message: (p) =>
      `'${p.plugin}' ${p.version} is ${p.status}, and ${p.rule} requires archives signed by a key in plugins.trusted_sources. Nothing was installed${p.kept ? `; ${p.kept}` : ''}.\nAdd the publisher's public key to plugins.trusted_sources in ${p.config}, or ask the publisher to sign it.`,
  },
  CX_ERR_NOT_TRUSTED: {
    summary: 'A plugin not signed by a trusted source was asked to install trusted.',
    exit: 3,
    message: (p) =>
      `'${p.plugin}' ${p.version} cannot be installed in the trusted tier: it is ${p.status}. Nothing was installed.\nInstall it sandboxed (without --trusted), or add its publisher's public key to plugins.trusted_sources in ${p.config}.`,
  },
  CX_ERR_ARCHIVE_UNSAFE: {
    summary: 'A plugin archive has an entry that escapes its directory, a link or a device.',
    exit: 2,
    message: (p) =>
      `${p.archive}: entry '${p.entry}' ${p.detail}; the archive was refused and nothing was written.\nA plugin archive holds only plain files and directories inside it; rebuild it with: cx-ops plugins pack DIR`,
  },
  CX_ERR_ARCHIVE_INVALID: {
    summary: 'A plugin archive is not a readable plugin tar.gz.',
    exit: 2,
    message: (p) => `${p.archive}: ${p.detail}\nRebuild it with: cx-ops plugins pack DIR`,
  },
  CX_ERR_VERSION_EXISTS: {
    summary: 'Publishing a plugin version that the registry already holds.',
    exit: 2,
    message: (p) =>
      `${p.plugin} ${p.version} is already published in ${p.registry}; nothing was changed.\nA published version never changes: raise 'version' in plugin.yaml, then pack, sign and publish again.`,
  },
  CX_ERR_KEY_INVALID: {
    summary: 'A signing or trusted key cannot be read as an ed25519 key.',
    exit: 2,
    message: (p) => `${p.where}: ${p.detail}\nMake an ed25519 key pair with: cx-ops plugins keygen --out NAME`,
  },
  CX_ERR_NOT_INSTALLED: {
    summary: 'The plugin is not installed from a registry.',
    exit: 2,
    message: (p) =>
      `'${p.plugin}' is not installed from a registry (it is not in ${p.lock}).\nSee installed plugins with: cx-ops plugins list`,
  },
});
