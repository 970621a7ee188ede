import { Status } from '../components/status';
import { formatTime } from '../format';
import type { DeploymentView, NodeDeploymentStatus } from '../types';

interface Node {
  machine_id: string;
  batch: number;
  status: NodeDeploymentStatus;
  version?: string;
  error?: string;
  finished_at?: number;
}

/** The machines of the release by batch: live from the workflow while it runs, else stored. */
function nodesOf(deployment: DeploymentView): Node[] {
  const stored = new Map(deployment.node_deployments.map((node) => [node.machine_id, node]));
  const live = deployment.progress?.machines;
  if (live === undefined) return deployment.node_deployments;
  return live.map((machine) => ({ ...stored.get(machine.machine_id), ...machine }));
}

export function Batches({ deployment }: { deployment: DeploymentView }) {
  const batches = new Map<number, Node[]>();
  for (const node of nodesOf(deployment)) {
    const batch = batches.get(node.batch);
    if (batch === undefined) batches.set(node.batch, [node]);
    else batch.push(node);
  }
  const current = deployment.progress?.batch;
  return (
    <section>
      <h2>Batches</h2>
      <div class="batches">
        {[...batches.entries()]
          .sort(([a], [b]) => a - b)
          .map(([batch, nodes]) => (
            <div
              key={batch}
              class={`batch${batch === current ? ' batch-current' : ''}`}
              data-testid="batch"
              data-batch={String(batch)}
            >
              <h3>{batch === 0 ? 'gray' : `batch ${batch}`}</h3>
              <ul>
                {nodes.map((node) => (
                  <li
                    key={node.machine_id}
                    data-testid="node"
                    data-machine={node.machine_id}
                    data-status={node.status}
                    title={
                      node.finished_at === undefined ? undefined : formatTime(node.finished_at)
                    }
                  >
                    <span class="node-id">{node.machine_id}</span>
                    <Status value={node.status} />
                    {node.error !== undefined && <span class="node-error">{node.error}</span>}
                  </li>
                ))}
              </ul>
            </div>
          ))}
      </div>
    </section>
  );
}
