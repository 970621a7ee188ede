import type { Machine, PacerConfig } from './application';
import { FailureType, RelguardError } from './errors';
import type { NodeDeployment } from './deployment';

/** Cumulative percentages used when the pacer names neither batch_size nor batches. */
export const defaultBatchPercentages = [25, 50, 100];

/**
 * The order a release deploys an application's machines in: the gray machine alone as batch 0,
 * then the rest in batches 1..n, in the order the application lists them.
 *
 * `batch_size` cuts the rest into batches of that many machines. `batches` are cumulative
 * percentages of all machines, gray included, as Argo Rollouts' setWeight steps: with 8
 * machines and [25, 50, 100] the machines deployed after each batch are 2, 4 and 8.
 */
export function planBatches(
  machines: readonly Pick<Machine, 'id'>[],
  pacer: Pick<PacerConfig, 'batch_size' | 'batches'>,
  grayMachineId?: string,
): { grayMachineId: string; batches: string[][] } {
  const first = machines[0];
  if (first === undefined) {
    throw new RelguardError(FailureType.BadConfig, 'the application has no machines to deploy');
  }
  const gray = grayMachineId ?? first.id;
  if (!machines.some((machine) => machine.id === gray)) {
    throw new RelguardError(
      FailureType.BadConfig,
      `gray machine "${gray}" is not a machine of the application`,
      { gray_machine_id: gray },
    );
  }
  const rest = machines.map((machine) => machine.id).filter((id) => id !== gray);
  const batches: string[][] = [];
  if (pacer.batch_size !== undefined) {
    for (let start = 0; start < rest.length; start += pacer.batch_size) {
      batches.push(rest.slice(start, start + pacer.batch_size));
    }
  } else {
    let deployed = 1;
    for (const percentage of pacer.batches ?? defaultBatchPercentages) {
      // Multiply first: (28 / 100) * 25 is 7.000000000000001 in floating point, one too many.
      const target = Math.min(machines.length, Math.ceil((percentage * machines.length) / 100));
      if (target > deployed) {
        batches.push(rest.slice(deployed - 1, target - 1));
        deployed = target;
      }
    }
  }
  return { grayMachineId: gray, batches };
}

/** The node deployments a new release starts with: every machine pending, in plan order. */
export function pendingNodeDeployments(
  plan: { grayMachineId: string; batches: string[][] },
  version: string,
): NodeDeployment[] {
  return [[plan.grayMachineId], ...plan.batches].flatMap((ids, batch) =>
    ids.map((machine_id) => ({ machine_id, batch, status: 'pending' as const, version })),
  );
}
