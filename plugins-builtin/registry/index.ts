/**
 * The registry plugin: sharing plugins.
 *
 *   registry add|list|remove|refresh|publish          (where plugins come from, and publishing)
 *   plugins search|install|update|remove              (using them; mounted in the kernel's `plugins` group)
 *   plugins pack|sign|keygen                          (the author's path)
 *
 * It is a trusted built-in that uses the SDK as any plugin would: archives are checked, hashed and
 * unpacked in memory (node:crypto, node:zlib, tar), every file is read and written through
 * ctx.localFs (atomic, audited in audit.jsonl, recorded instead of performed under --dry-run and
 * --dev), archives and indexes are downloaded with ctx.net.download, installs and publishes hold
 * ctx.lock, every change is journaled with the SDK's appendJournal, and the kernel is reached
 * through ctx.plugins. docs/plugin-authors.md walks an author through it.
 */
import { definePlugin } from 'cx-ops/sdk';
import { catalogContributions, catalogKinds } from './catalog.js';
import { registryErrors } from './errors.js';
import { pluginCommands } from './plugin-commands.js';
import { registryCommands } from './registry-commands.js';

export default definePlugin({
  name: 'registry',
  errors: registryErrors,
  kinds: catalogKinds,
  contributes: [...registryCommands, ...pluginCommands, ...catalogContributions],
});
