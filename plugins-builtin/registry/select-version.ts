/**
 * Choosing what to install: NAME[@RANGE] against the versions the registries offer. The highest
 * version that satisfies both the range and the running kernel (its cx_version) wins.
 */
import maxSatisfying from 'semver/ranges/max-satisfying.js';
import satisfies from 'semver/functions/satisfies.js';
import validRange from 'semver/ranges/valid.js';
import rcompare from 'semver/functions/rcompare.js';
import { CxError, closest } from 'cx-ops/sdk';
import type { LoadedIndex } from './index-cache.js';
import type { IndexVersion } from './registry-index.js';
import { registryErrors } from './errors.js';

export interface PluginSpec {
  name: string;
  range: string;
}

const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** Parses NAME or NAME@RANGE (RANGE is a semver range: 1.2.3, ^1.2, >=1 <2, *). */
export function parseSpec(spec: string): PluginSpec {
  const at = spec.indexOf('@');
  const name = at < 0 ? spec : spec.slice(0, at);
  const range = at < 0 ? '*' : spec.slice(at + 1).trim() || '*';
  if (!NAME.test(name))
    throw new CxError('CX_ERR_USAGE', {
      detail: `'${name}' is not a plugin name (lower-case words joined by '-').`,
      hint: "cx-ops plugins install disk-guard@'^1.2'",
    });
  if (!validRange(range))
    throw new CxError('CX_ERR_USAGE', {
      detail: `'${range}' is not a semver range.`,
      hint: `cx-ops plugins install ${name}@'^1.2'   or ${name}@1.2.3`,
    });
  return { name, range };
}

/** A version offered by a registry. */
export interface Offer {
  loaded: LoadedIndex;
  entry: IndexVersion;
}

/** Every version of `name` the indexes offer, highest first (the first registry wins a tie). */
export function offersOf(indexes: LoadedIndex[], name: string): Offer[] {
  const out: Offer[] = [];
  for (const loaded of indexes) for (const entry of loaded.index.plugins[name] ?? []) out.push({ loaded, entry });
  return out.sort((a, b) => rcompare(a.entry.version, b.entry.version));
}

/** Whether the running kernel satisfies a version's cx_version. */
export const worksWith = (entry: IndexVersion, kernel: string) =>
  satisfies(kernel, entry.cx_version, { includePrerelease: true });

/** Picks the highest offer satisfying the range and the kernel, or throws naming what is available. */
export function selectVersion(indexes: LoadedIndex[], spec: PluginSpec, kernel: string, where: string): Offer {
  const offers = offersOf(indexes, spec.name);
  if (!offers.length) {
    const names = new Set(indexes.flatMap((l) => Object.keys(l.index.plugins)));
    throw registryErrors.CX_ERR_REGISTRY_PLUGIN_UNKNOWN({
      plugin: spec.name,
      where,
      suggestions: closest(spec.name, names),
    });
  }
  const fits = offers.filter((o) => worksWith(o.entry, kernel));
  const best = maxSatisfying(
    fits.map((o) => o.entry.version),
    spec.range,
  );
  if (best) return fits.find((o) => o.entry.version === best)!;
  // One entry per version, naming the registries that offer it when there are several.
  const byVersion = new Map<string, Offer[]>();
  for (const o of offers) byVersion.set(o.entry.version, [...(byVersion.get(o.entry.version) ?? []), o]);
  const available = [...byVersion].map(([version, same]) => {
    const needs = same.find((o) => !worksWith(o.entry, kernel));
    const where = same.length > 1 ? ` (in ${same.map((o) => o.loaded.registry.name).join(', ')})` : '';
    return `${version}${where}${needs ? ` (needs cx-ops ${needs.entry.cx_version})` : ''}`;
  });
  const usable = fits[0]?.entry.version;
  throw registryErrors.CX_ERR_VERSION_UNSATISFIED({
    plugin: spec.name,
    range: spec.range,
    kernel,
    available,
    next: usable
      ? `Install the newest one that works here with: cx-ops plugins install ${spec.name}@${usable}`
      : `No published version works with cx-ops ${kernel}; upgrade cx-ops.`,
  });
}
