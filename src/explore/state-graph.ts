/**
 * The explorer's state graph: the states exhaustive search has recorded (`Node`: a state's hash,
 * the agents enabled in it, its outgoing edges by agent, the operations finished by then) and
 * the searches over them: weak fairness of a cycle closed by a back edge (`fairCycle`), a weakly
 * fair cycle in a strongly connected component (`fairComponent`, Tarjan), and the shortest
 * schedule between two states (`shortestPath`). Pure graph code; nothing here runs an agent.
 */
/** A recorded state of the search. */
export interface Node {
  hash: string;
  enabled: number[];
  /** Edges: agent -> node id. */
  edges: Map<number, number>;
  ops: number;
}

/** Weak fairness: no agent is enabled at every state of the cycle without stepping in it. */
export function fairCycle(cycleStates: readonly Node[], stepped: ReadonlySet<number>): boolean {
  const always = new Set(cycleStates[0]!.enabled);
  for (const s of cycleStates.slice(1))
    for (const a of [...always]) if (!s.enabled.includes(a)) always.delete(a);
  for (const a of always) if (!stepped.has(a)) return false;
  return true;
}

/**
 * Tarjan's strongly connected components over the recorded state graph. A component in which
 * every agent that is enabled at all of its states also steps somewhere inside it holds a
 * weakly fair cycle (one that visits every state and takes every internal edge). Returns the
 * component's entry state and such a cycle as (state, agent) edges, or null.
 */
export function fairComponent(nodes: readonly Node[]): { entry: number; cycle: [number, number][] } | null {
  const n = nodes.length;
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStk = new Uint8Array(n);
  const stk: number[] = [];
  let counter = 0;
  const comps: number[][] = [];
  for (let r = 0; r < n; r++) {
    if (index[r] !== -1) continue;
    const work: { v: number; it: number[]; i: number }[] = [];
    const push = (v: number) => {
      index[v] = low[v] = counter++;
      stk.push(v);
      onStk[v] = 1;
      work.push({ v, it: [...nodes[v]!.edges.values()], i: 0 });
    };
    push(r);
    while (work.length > 0) {
      const top = work[work.length - 1]!;
      if (top.i < top.it.length) {
        const w = top.it[top.i++]!;
        if (index[w] === -1) push(w);
        else if (onStk[w]) low[top.v] = Math.min(low[top.v]!, index[w]!);
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1]!.v;
        low[parent] = Math.min(low[parent]!, low[top.v]!);
      }
      if (low[top.v] === index[top.v]) {
        const comp: number[] = [];
        let w: number;
        do {
          w = stk.pop()!;
          onStk[w] = 0;
          comp.push(w);
        } while (w !== top.v);
        comps.push(comp);
      }
    }
  }
  for (const comp of comps.sort((a, b) => Math.min(...a) - Math.min(...b))) {
    const inComp = new Set(comp);
    const internal: [number, number, number][] = [];
    for (const v of comp)
      for (const [agent, w] of nodes[v]!.edges) if (inComp.has(w)) internal.push([v, agent, w]);
    if (internal.length === 0) continue;
    const stepping = new Set(internal.map(([, agent]) => agent));
    const always = new Set(nodes[comp[0]!]!.enabled);
    for (const v of comp) for (const a of [...always]) if (!nodes[v]!.enabled.includes(a)) always.delete(a);
    if ([...always].some((a) => !stepping.has(a))) continue;
    if (comp.some((v) => nodes[v]!.ops !== nodes[comp[0]!]!.ops)) continue;
    // A cycle from the entry that takes one internal edge of each stepping agent, then returns.
    const entry = Math.min(...comp);
    const cycle: [number, number][] = [];
    let at = entry;
    const walk = (to: (v: number) => [number, number] | null): boolean => {
      // Breadth-first inside the component to a state with a wanted edge; follows the path.
      const prev = new Map<number, [number, number]>();
      const q = [at];
      const seen = new Set([at]);
      for (let qi = 0; qi < q.length; qi++) {
        const v = q[qi]!;
        const hit = to(v);
        if (hit) {
          const path: [number, number][] = [];
          for (let x = v; x !== at; ) {
            const p = prev.get(x)!;
            path.push(p);
            x = p[0];
          }
          cycle.push(...path.reverse(), hit);
          at = nodes[hit[0]]!.edges.get(hit[1])!;
          return true;
        }
        for (const [agent, w] of nodes[v]!.edges) {
          if (!inComp.has(w) || seen.has(w)) continue;
          seen.add(w);
          prev.set(w, [v, agent]);
          q.push(w);
        }
      }
      return false;
    };
    for (const agent of [...stepping].sort((a, b) => a - b)) {
      walk((v) => {
        const w = nodes[v]!.edges.get(agent);
        return w !== undefined && inComp.has(w) ? [v, agent] : null;
      });
    }
    if (at !== entry) {
      walk((v) => {
        for (const [agent, w] of nodes[v]!.edges) if (w === entry) return [v, agent];
        return null;
      });
    }
    return { entry, cycle };
  }
  return null;
}

export function shortestPath(
  nodes: readonly Node[],
  edgeChoices: ReadonlyMap<string, number[]>,
  from: number,
  to: number,
): number[] | null {
  const prev = new Map<number, { node: number; agent: number }>();
  const queue = [from];
  const seen = new Set([from]);
  for (let qi = 0; qi < queue.length; qi++) {
    const n = queue[qi]!;
    if (n === to) break;
    for (const [agent, dst] of nodes[n]!.edges) {
      if (seen.has(dst)) continue;
      seen.add(dst);
      prev.set(dst, { node: n, agent });
      queue.push(dst);
    }
  }
  if (!seen.has(to)) return null;
  const out: number[][] = [];
  for (let n = to; n !== from; ) {
    const p = prev.get(n)!;
    out.push(edgeChoices.get(`${p.node}>${p.agent}`)!);
    n = p.node;
  }
  return out.reverse().flat();
}
