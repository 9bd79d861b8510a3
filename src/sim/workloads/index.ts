/**
 * The workload registry: one agent factory per `kind` of WorkloadConfig. A new kind is an entry
 * in the scenario schema's `workloads` union (src/scenario/schema.ts, with its checks), one file
 * in this folder that exports `(sim, w) => SimAgent`, and one line here.
 *
 *   const agent = WORKLOAD_KINDS[w.kind](sim, w as never);   // see workloadAgent
 */
import type { SimAgent, SimContext } from '../agent.js';
import type { WorkloadConfig } from '../config.js';
import { cpuWorkload } from './cpu.js';
import { dmirrorWorkload } from './dmirror.js';
import { gpuWorkload } from './gpu.js';
import { rdmaWorkload } from './rdma.js';

/** An agent factory for the workloads of one kind. It must not touch the model (see SimAgent.run). */
export type WorkloadKind<W extends WorkloadConfig> = (sim: SimContext, w: W) => SimAgent;

export const WORKLOAD_KINDS: {
  readonly [K in WorkloadConfig['kind']]: WorkloadKind<Extract<WorkloadConfig, { kind: K }>>;
} = {
  cpu: cpuWorkload,
  gpu: gpuWorkload,
  rdma: rdmaWorkload,
  dmirror: dmirrorWorkload,
};

/** The agent of workload `w`, from its kind's factory. */
export function workloadAgent(sim: SimContext, w: WorkloadConfig): SimAgent {
  return (WORKLOAD_KINDS[w.kind] as WorkloadKind<WorkloadConfig>)(sim, w);
}
