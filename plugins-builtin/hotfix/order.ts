/**
 * The order operations run in: by `phase`, then so that every operation comes after its
 * `dependencies` (a stable topological sort; ties keep the file's order). An unknown id, a
 * dependency on a later phase, or a cycle is refused before anything runs.
 */
import type { ModuleProblem } from './module-file.js';
import { opProblem } from './module-file.js';
import type { HotfixModule, OperationBase } from './module-types.js';

export interface Ordered {
  /** Enabled operations in run order. */
  order: OperationBase[];
  /** Disabled operations (skipped). */
  disabled: OperationBase[];
  problems: ModuleProblem[];
}

/** Orders the module's operations; `problems` is empty when it can run. */
export function orderOperations(m: HotfixModule): Ordered {
  const byId = new Map(m.operations.map((o) => [o.id, o]));
  const problems: ModuleProblem[] = [];
  for (const op of m.operations) {
    for (const [i, d] of op.dependencies.entries()) {
      const dep = byId.get(d);
      if (!dep) {
        problems.push(
          opProblem(
            m,
            op,
            `dependencies[${i}]`,
            `names '${d}', which is not an operation of this module (operations: ${[...byId.keys()].join(', ')})`,
            d,
          ),
        );
      } else if (d === op.id) {
        problems.push(opProblem(m, op, `dependencies[${i}]`, 'names the operation itself', d));
      } else if (dep.phase > op.phase) {
        problems.push(
          opProblem(
            m,
            op,
            `dependencies[${i}]`,
            `names '${d}' of phase ${dep.phase}, which runs after this operation's phase ${op.phase}; move one of them`,
            d,
          ),
        );
      } else if (op.enabled && !dep.enabled) {
        problems.push(
          opProblem(
            m,
            op,
            `dependencies[${i}]`,
            `names '${d}', which is disabled (enabled: false); enable it or disable this operation too`,
            d,
          ),
        );
      }
    }
  }
  if (problems.length) return { order: [], disabled: [], problems };
  const index = new Map(m.operations.map((o, i) => [o.id, i]));
  const sorted = [...m.operations].sort((a, b) => a.phase - b.phase || index.get(a.id)! - index.get(b.id)!);
  const done = new Set<string>();
  const order: OperationBase[] = [];
  const pending = [...sorted];
  while (pending.length) {
    const i = pending.findIndex((o) => o.dependencies.every((d) => done.has(d)));
    if (i < 0) {
      const cycle = findCycle(pending, byId);
      const first = byId.get(cycle[0]!)!;
      problems.push(
        opProblem(m, first, 'dependencies', `form a cycle: ${cycle.join(' -> ')}; remove one of these dependencies`),
      );
      return { order: [], disabled: [], problems };
    }
    const [op] = pending.splice(i, 1);
    done.add(op!.id);
    order.push(op!);
  }
  return { order: order.filter((o) => o.enabled), disabled: order.filter((o) => !o.enabled), problems };
}

/** A dependency cycle among the operations left, as a chain of ids ending where it began. */
function findCycle(left: OperationBase[], byId: Map<string, OperationBase>): string[] {
  const ids = new Set(left.map((o) => o.id));
  for (const start of left) {
    const path: string[] = [];
    const walk = (id: string): string[] | null => {
      const at = path.indexOf(id);
      if (at >= 0) return [...path.slice(at), id];
      path.push(id);
      for (const d of byId.get(id)!.dependencies) {
        if (!ids.has(d)) continue;
        const c = walk(d);
        if (c) return c;
      }
      path.pop();
      return null;
    };
    const c = walk(start.id);
    if (c) return c;
  }
  return left.map((o) => o.id);
}
