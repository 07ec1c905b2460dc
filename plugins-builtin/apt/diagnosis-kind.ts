/**
 * The `diagnosis` contribution kind, owned by the apt plugin: a read-only diagnosis shared by a
 * check and the repair it offers (checks-packages' apt_status shows what `repair apt` would fix).
 */
import { defineKind, type Availability, type PluginContext } from 'cx-ops/sdk';

/** One problem a diagnosis found, and what its repair does about it. */
export interface DiagnosedProblem {
  id: string;
  description: string;
  fix: string[];
}

export interface Diagnosis extends Availability {
  problems: DiagnosedProblem[];
}

export const diagnosisKind = defineKind<null, Diagnosis>('diagnosis', {
  description:
    'A read-only diagnosis shared by a check and the repair it offers: resolves { available, reason?, problems: [{ id, description, fix[] }] }',
});

/** The diagnosis `id`, or null when no loaded plugin offers it (the apt plugin is disabled). */
export async function askDiagnosis(ctx: PluginContext<unknown>, id: string): Promise<Diagnosis | null> {
  let ids: string[];
  try {
    ids = (await ctx.registry.list(diagnosisKind)).map((d) => d.id);
  } catch {
    return null; // nobody declares the kind
  }
  return ids.includes(id) ? ctx.registry.invoke(diagnosisKind, id, null) : null;
}
