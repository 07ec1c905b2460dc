/**
 * Load order from `requires`: every plugin after the plugins it requires, ties broken by name.
 * A missing or unsatisfied requirement, or a cycle, excludes the plugins involved (and those
 * that require them) with an error naming the chain.
 */
import satisfies from 'semver/functions/satisfies.js';
import { CxError } from '../errors.js';
import type { PluginManifest } from './manifest.js';

export interface OrderResult {
  order: string[];
  errors: CxError[];
}

export function orderPlugins(manifests: Map<string, PluginManifest>): OrderResult {
  const errors: CxError[] = [];
  const excluded = new Set<string>();
  const names = [...manifests.keys()].sort();

  // Requirements that are missing or of the wrong version.
  for (const name of names) {
    const m = manifests.get(name)!;
    for (const [req, range] of Object.entries(m.requires ?? {})) {
      const dep = manifests.get(req);
      if (!dep || !satisfies(dep.version, range, { includePrerelease: true })) {
        errors.push(
          new CxError('CX_ERR_REQUIRES_MISSING', {
            plugin: name,
            requirement: req,
            range,
            found: dep ? `${req} ${dep.version}` : undefined,
          }),
        );
        excluded.add(name);
      }
    }
  }

  // Depth-first topological sort with cycle detection.
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, stack: string[]): boolean => {
    const s = state.get(name);
    if (s === 'done') return !excluded.has(name);
    if (s === 'visiting') {
      const chain = [...stack.slice(stack.indexOf(name)), name];
      errors.push(new CxError('CX_ERR_REQUIRES_CYCLE', { chain, plugin: name }));
      for (const c of chain) excluded.add(c);
      return false;
    }
    state.set(name, 'visiting');
    let ok = !excluded.has(name);
    for (const req of Object.keys(manifests.get(name)!.requires ?? {}).sort()) {
      if (!manifests.has(req)) continue;
      if (!visit(req, [...stack, name])) {
        if (ok && !excluded.has(name) && state.get(req) === 'done') {
          const dep = manifests.get(req)!;
          errors.push(
            new CxError('CX_ERR_REQUIRES_MISSING', {
              plugin: name,
              requirement: req,
              range: manifests.get(name)!.requires![req],
              found: `${req} ${dep.version} (which failed to load)`,
            }),
          );
        }
        ok = false;
      }
    }
    state.set(name, 'done');
    if (!ok) excluded.add(name);
    else order.push(name);
    return ok;
  };
  for (const name of names) visit(name, []);
  return { order: order.filter((n) => !excluded.has(n)), errors };
}
