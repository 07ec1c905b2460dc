// Types still written by hand beside a schema (public SDK types, a plugin's own modules) must be
// exactly the generated ones: checked by tsc (npm run typecheck) through expectTypeOf.
import { expectTypeOf, test } from 'vitest';
import type {
  CheckResult,
  ContributionKindDefinition,
  HookDeclaration,
  Json,
  PluginManifest,
} from '../../../sdk/types.js';
import type { TreeEntry } from '../../../plugins-builtin/updates/file-tree.js';
import type { InstalledPackage } from '../../../plugins-builtin/updates/updater-contract.js';
import type * as Doctor from '../../../schemas/types/doctor-result.js';
import type * as Manifest from '../../../schemas/types/plugin.js';
import type * as Shape from '../../../schemas/types/plugin-shape.js';
import type * as Snapshot from '../../../schemas/types/snapshot-manifest.js';

test('hand-written types equal the types generated from their schemas', () => {
  expectTypeOf<PluginManifest>().toEqualTypeOf<Manifest.PluginManifest>();
  expectTypeOf<CheckResult>().toEqualTypeOf<Doctor.CheckResult>();
  expectTypeOf<Json>().toEqualTypeOf<Shape.Json>();
  expectTypeOf<ContributionKindDefinition>().toEqualTypeOf<Shape.PluginShape['kinds'][number]>();
  expectTypeOf<HookDeclaration>().toEqualTypeOf<Shape.PluginShape['hooks'][number]>();
  expectTypeOf<TreeEntry>().toEqualTypeOf<Snapshot.TreeEntry>();
  expectTypeOf<InstalledPackage>().toEqualTypeOf<Snapshot.InstalledPackage>();
});
