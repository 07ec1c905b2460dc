/**
 * The task DAG: prerequisites by task id. A run of a task runs its prerequisites first (fan-in:
 * the seed's final-report waits for backup, security-scan and cleanup); a cycle is refused with
 * the whole chain shown.
 */

/** The first cycle among `deps` (id → prerequisite ids) as a chain `a -> b -> a`, or null. */
export function findCycle(deps: ReadonlyMap<string, readonly string[]>): string[] | null {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | null => {
    const s = state.get(id);
    if (s === 'done') return null;
    if (s === 'visiting') return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, 'visiting');
    stack.push(id);
    for (const d of deps.get(id) ?? []) {
      const c = visit(d);
      if (c) return c;
    }
    stack.pop();
    state.set(id, 'done');
    return null;
  };
  for (const id of [...deps.keys()].sort()) {
    const c = visit(id);
    if (c) return c;
  }
  return null;
}

/** `id` and every task it needs, prerequisites before dependents (the graph is acyclic). */
export function closureOf(id: string, deps: ReadonlyMap<string, readonly string[]>): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (t: string) => {
    if (seen.has(t)) return;
    seen.add(t);
    for (const d of deps.get(t) ?? []) visit(d);
    out.push(t);
  };
  visit(id);
  return out;
}
