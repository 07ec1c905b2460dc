/**
 * The registry plugin: sharing plugins.
 *
 *   registry add|list|remove|refresh|publish          (where plugins come from, and publishing)
 *   plugins search|install|update|remove              (using them; mounted in the kernel's `plugins` group)
 *   plugins pack|sign|keygen                          (the author's path)
 *
 * It is a trusted built-in: archives are binary and are checked, hashed and unpacked here, so it
 * uses node:fs/node:crypto and `fetch` directly for them (every write atomic, every install behind
 * a lock; the SDK's capabilities carry text only), journals every change with the SDK's
 * appendJournal (through ctx.fs, so it is audited), and reaches the kernel through ctx.plugins.
 * docs/plugin-authors.md walks an author through it.
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
