/**
 * Bundling a plugin source into the one self-contained ES module the sandbox loads (esbuild:
 * format esm, bundle, platform neutral; 'cx-ops/sdk' aliased to the repository's SDK). The SDK's
 * own bundler (sdk/bundle.ts) holds the implementation; this is the kernel's entry to it.
 */
import { bundlePlugin } from '../../sdk/bundle.js';

/** Bundles `entryFile` (TS or JS) and returns the module's code. */
export function bundlePluginSource(entryFile: string): Promise<string> {
  return bundlePlugin(entryFile);
}
