import { ActivityFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

const { retireMachine } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 3, initialInterval: '1 second' },
});

export interface RetireMachinesInput {
  appId: string;
  machineIds: string[];
}

export interface RetireOutcome {
  stopped: string[];
  failed: { machine_id: string; error: string }[];
}

/**
 * Stops the machines of an application that is being deleted (`?machines=stop`), each through
 * its platform, at once; the api deletes the application only if every one stopped.
 */
export async function retireMachinesWorkflow(input: RetireMachinesInput): Promise<RetireOutcome> {
  const outcomes = await Promise.all(
    input.machineIds.map(async (machineId) => {
      try {
        await retireMachine({ appId: input.appId, machineId });
        return { machineId };
      } catch (error) {
        if (!(error instanceof ActivityFailure)) throw error;
        return { machineId, error: error.cause?.message ?? error.message };
      }
    }),
  );
  return {
    stopped: outcomes.filter((outcome) => outcome.error === undefined).map((o) => o.machineId),
    failed: outcomes.flatMap((outcome) =>
      outcome.error === undefined ? [] : [{ machine_id: outcome.machineId, error: outcome.error }],
    ),
  };
}
