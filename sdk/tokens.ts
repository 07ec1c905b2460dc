/**
 * Typed extension points. A plugin that offers a hook or a contribution kind declares it with
 * `defineHook<Payload>()` / `defineKind<Input, Output>()` in its own module, lists the token in
 * definePlugin's `hooks` / `kinds`, and exports it. Consumers import the token: `defineTap(token,
 * …)` gets the payload type, `ctx.registry.callHook(token, …)` (owner only) and
 * `ctx.registry.invoke(token, id, …)` are typed, and `defineContribution(token, …)` checks the
 * contribution's input and output. A token is plain data (name, type, description, metaSchema),
 * so it crosses the sandbox boundary as it is: sandboxed plugins use the same tokens.
 */
import type { ContributionKindDefinition, HookDeclaration, Json } from './types.js';

/** A hook a plugin offers, carrying its payload type. */
export interface HookToken<Payload = unknown> extends HookDeclaration {
  /** Type only: never set. */
  readonly __payload?: (payload: Payload) => void;
}

/** A contribution kind a plugin offers, carrying what a contribution receives and answers. */
export interface KindToken<Input = unknown, Output = unknown> extends ContributionKindDefinition {
  /** Type only: never set. */
  readonly __io?: (input: Input) => Output;
}

/** The payload type of a hook token. */
export type PayloadOf<T> = T extends HookToken<infer P> ? P : never;

/** Declares a hook (an extension point others tap). `series` notifies every tap; `bail` stops at the first tap
 * resolving false (a veto); `waterfall` passes the payload along. */
export function defineHook<Payload>(
  name: string,
  o: { type: HookDeclaration['type']; description: string },
): HookToken<Payload> {
  return Object.freeze({ name, type: o.type, description: o.description });
}

/** Declares a contribution kind others fill; `metaSchema` (JSON Schema) is enforced on every contribution's meta at registration. */
export function defineKind<Input, Output>(
  kind: string,
  o: { description: string; metaSchema?: Record<string, Json> },
): KindToken<Input, Output> {
  return Object.freeze({ kind, description: o.description, ...(o.metaSchema ? { metaSchema: o.metaSchema } : {}) });
}

/** Kebab-case names: plugins, commands. */
export const PLUGIN_NAME_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
/** Contribution ids: snake_case or kebab-case (the seed's check ids are snake_case); enforced at registration. */
export const CONTRIBUTION_ID_PATTERN = /^[a-z][a-z0-9]*([_-][a-z0-9]+)*$/;
/** Command ids: words of kebab-case separated by single spaces ("repair apt"). */
export const COMMAND_ID_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*( [a-z][a-z0-9]*(-[a-z0-9]+)*)*$/;

/** The name of a hook given as a token or a string. */
export const hookName = (h: string | HookDeclaration): string => (typeof h === 'string' ? h : h.name);
/** The name of a kind given as a token or a string. */
export const kindName = (k: string | ContributionKindDefinition): string => (typeof k === 'string' ? k : k.kind);
