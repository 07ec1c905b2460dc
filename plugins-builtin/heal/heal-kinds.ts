/**
 * The extension points the heal plugin offers (its own, typed; the kernel's table stays closed):
 *
 * - kind `heal-resolver`: maps an issue to an action. meta { priority } (lower asks first; the
 *   built-in `default` is asked last). Input: the Issue; answer: { action, parameters } or null
 *   (not mine). The first answer wins; an answer that is neither is an ERROR attributed to the
 *   resolver's plugin, and the next resolver is asked.
 * - kind `heal-action`: does one thing. meta { category: resource | service | system }. Input
 *   { issue, parameters }; answer { ok, detail, recorded? } (`recorded`: what nested calls
 *   recorded in a dry run). Invoked with dryRun in development mode, so the kernel records its
 *   exec and file calls instead of performing them.
 * - hook `pre_heal` (bail): before an action runs; a tap resolving false vetoes it.
 */
import { defineHook, defineKind, type Json } from 'cx-ops/sdk';
import type { ActionPlan, Issue } from './heal-types.js';

export interface ActionInput {
  issue: Issue;
  parameters: Record<string, Json>;
}

export interface ActionOutput {
  ok: boolean;
  detail: string;
  /** In a dry run: what the action's nested calls (service managers, fixes) recorded. */
  recorded?: string[];
}

/** What `pre_heal` carries. */
export interface PreHeal {
  issue: Issue;
  action: string;
  parameters: Record<string, Json>;
  dry_run: boolean;
}

export const healResolverKind = defineKind<Issue, ActionPlan | null>('heal-resolver', {
  description:
    'Maps a heal issue to an action: meta { priority } (lower first); input the Issue; answer { action, parameters } or null',
  metaSchema: {
    type: 'object',
    properties: { priority: { type: 'integer', minimum: 0, maximum: 1000 }, description: { type: 'string' } },
  },
});

export const healActionKind = defineKind<ActionInput, ActionOutput>('heal-action', {
  description:
    'A healing action: meta { category: resource|service|system }; input { issue, parameters }; answer { ok, detail }',
  metaSchema: {
    type: 'object',
    required: ['category'],
    properties: { category: { enum: ['resource', 'service', 'system'] }, description: { type: 'string' } },
  },
});

export const preHealHook = defineHook<PreHeal>('pre_heal', {
  type: 'bail',
  description: 'Before a heal action runs: { issue, action, parameters, dry_run }; false vetoes it',
});
