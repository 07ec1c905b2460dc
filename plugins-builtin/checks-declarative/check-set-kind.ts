/**
 * The `check-set` contribution kind, owned by this plugin: a set of checks known only at run time
 * (read from files). Doctor lists a set's checks for the run and runs each one through it.
 */
import { defineKind, type CheckOutcome, type InvokeOptions, type Json, type PluginContext } from 'cx-ops/sdk';

/** A request from doctor: list the checks, or run one. */
export type CheckSetRequest = { op: 'list'; files?: string[] } | { op: 'run'; id: string; files?: string[] };

/** A listed check: its id and the metadata a registered check has (name, category, severity, ...). */
export type CheckSetEntry = Record<string, Json> & { id: string };

/** What a set answers to each request. */
export type CheckSetReply<R extends CheckSetRequest> = R extends { op: 'list' } ? CheckSetEntry[] : CheckOutcome;

export const checkSetKind = defineKind<CheckSetRequest, CheckSetEntry[] | CheckOutcome>('check-set', {
  description:
    "A set of checks known only at run time (e.g. read from a file): { op: 'list', files } resolves with check definitions, { op: 'run', id, files } with a check outcome",
});

/** Asks a check set; the answer is typed by the request. */
export async function askCheckSet<R extends CheckSetRequest>(
  ctx: PluginContext<unknown>,
  id: string,
  req: R,
  options?: InvokeOptions,
): Promise<CheckSetReply<R>> {
  return (await ctx.registry.invoke(checkSetKind, id, req, options)) as CheckSetReply<R>;
}
