/**
 * Putting a plugin's shape into the kernel: the kinds, hooks and error codes it offers
 * (declared first, for every plugin), then its contributions and taps (registered after, so a
 * plugin may fill a kind declared by a plugin loaded later). A bad contribution or tap is
 * reported and skipped; the rest stay.
 */
import { join } from 'node:path';
import type { Json } from '../../sdk/types.js';
import { CxError, isErrorCode } from '../errors.js';
import type { HookBus } from '../hooks.js';
import type { Registry } from '../registry.js';
import { runPluginCode, wantsDryRun, type InvocationHost } from './invocation.js';
import type { PluginRecord } from './plugin-record.js';

/** What declaring and registering need from the kernel. */
export interface DeclarationHost extends InvocationHost {
  registry: Registry;
  hooks: HookBus;
  bootErrors: CxError[];
  /** Kinds only disabled or failed plugins declare: contributions to them wait quietly. */
  dormantKinds: Set<string>;
  /** Which plugin declared each plugin error code (a code means one thing). */
  errorOwners: Map<string, string>;
  configDir: string;
}

/** Declares the kinds, hooks and error codes a plugin offers; a name already taken throws CX_ERR_DECLARATION_DUPLICATE. */
export function declare(host: DeclarationHost, p: PluginRecord): void {
  const shape = p.shape!;
  for (const k of shape.kinds)
    host.registry.declareKind({ kind: k.kind, description: k.description, owner: p.name, metaSchema: k.metaSchema });
  for (const h of shape.hooks) host.hooks.declare(h.name, h.type, h.description, p.name);
  for (const e of shape.errors ?? []) {
    const owner = isErrorCode(e.code) ? 'the kernel' : host.errorOwners.get(e.code);
    if (owner !== undefined && owner !== p.name) {
      throw new CxError('CX_ERR_DECLARATION_DUPLICATE', {
        plugin: p.name,
        what: 'error code',
        name: e.code,
        owner: owner === 'the kernel' ? undefined : owner,
      });
    }
    host.errorOwners.set(e.code, p.name);
  }
}

/** Registers a plugin's contributions and taps, each wrapped so its failures are attributed. */
export function register(host: DeclarationHost, p: PluginRecord): void {
  const shape = p.shape!;
  for (const c of shape.contributes) {
    try {
      host.registry.add({
        kind: c.kind,
        id: c.id,
        plugin: p.name,
        tier: p.tier,
        meta: c.meta as Record<string, Json>,
        configField: c.configField,
        invoke: (input, req) =>
          runPluginCode(
            host,
            p,
            { type: 'contribution', kind: c.kind, id: c.id },
            input,
            { ...req, dryRun: req.dryRun || wantsDryRun(c, input) },
            `${c.kind} '${c.id}'`,
          ),
      });
    } catch (e) {
      if (e instanceof CxError && e.code === 'CX_ERR_KIND_UNKNOWN' && host.dormantKinds.has(c.kind)) continue;
      // An id the operator chose in config.yaml (nagios checks): the fix is to rename it there.
      const field =
        e instanceof CxError && e.code === 'CX_ERR_CONTRIBUTION_DUPLICATE'
          ? (c.configField ?? host.registry.get(c.kind, c.id)?.configField)
          : undefined;
      host.bootErrors.push(
        field
          ? new CxError('CX_ERR_CONTRIBUTION_DUPLICATE', {
              ...(e as CxError).params,
              fix: `Rename it: change ${field} in ${join(host.configDir, 'config.yaml')}.`,
            })
          : (e as CxError),
      );
    }
  }
  for (const t of shape.taps) {
    try {
      host.hooks.tap(t.hook, { plugin: p.name, priority: t.priority }, (payload, call) =>
        runPluginCode(
          host,
          p,
          { type: 'tap', index: t.index, hook: t.hook },
          payload as Json,
          { dryRun: call.dryRun },
          `its '${t.hook}' tap`,
        ),
      );
    } catch (e) {
      host.bootErrors.push(e as CxError);
    }
  }
}
