import { useState } from 'preact/hooks';
import { api } from '../api';
import { ErrorBox } from '../components/error-box';
import { formText } from '../form';
import { isTerminal } from '../format';
import type { DeploymentView, Role } from '../types';

type Action = 'pause' | 'resume' | 'approve' | 'promote' | 'rollback' | 'cancel';

/** The actions the release's state allows, as the api decides them (api/deployments). */
export function applicableActions(deployment: DeploymentView): Action[] {
  const status = deployment.progress?.status ?? deployment.status;
  if (isTerminal(status) || status === 'rolling_back') return [];
  const paused = deployment.progress?.paused ?? status === 'paused';
  const actions: Action[] = [];
  if (!paused && (status === 'deploying' || status === 'verifying')) actions.push('pause');
  if (paused) actions.push('resume');
  if (deployment.progress?.awaitingApproval === true) actions.push('approve');
  if (!paused && deployment.progress?.promotable === true) actions.push('promote');
  actions.push('rollback', 'cancel');
  return actions;
}

/** Actions that undo or end a release: they ask for a reason first. */
const confirmed: readonly Action[] = ['rollback', 'cancel'];

const labels: Record<Action, string> = {
  pause: 'Pause',
  resume: 'Resume',
  approve: 'Approve',
  promote: 'Promote',
  rollback: 'Roll back',
  cancel: 'Cancel',
};

/** Buttons for a deployer or an admin; a viewer sees none. */
export function ReleaseActions({
  deployment,
  role,
  onDone,
}: {
  deployment: DeploymentView;
  role: Role;
  onDone: () => void;
}) {
  const [confirming, setConfirming] = useState<Action>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const actions = applicableActions(deployment);
  if (role === 'viewer' || (actions.length === 0 && error === undefined)) return null;

  const send = async (action: Action, reason?: string) => {
    setBusy(true);
    setError(undefined);
    try {
      await api.POST(`/api/v1/deployments/{id}/${action}`, {
        params: { path: { id: deployment.id } },
        body: reason === undefined || reason === '' ? {} : { reason },
      });
      setConfirming(undefined);
      onDone();
    } catch (failure) {
      setError(failure as Error);
    } finally {
      setBusy(false);
    }
  };

  const submitConfirm = (event: SubmitEvent) => {
    event.preventDefault();
    if (confirming === undefined) return;
    void send(confirming, formText(event.currentTarget, 'reason'));
  };

  return (
    <section class="actions">
      <div class="buttons">
        {actions.map((action) => (
          <button
            key={action}
            type="button"
            data-action={action}
            class={confirmed.includes(action) ? 'danger' : ''}
            disabled={busy}
            onClick={() => (confirmed.includes(action) ? setConfirming(action) : void send(action))}
          >
            {labels[action]}
          </button>
        ))}
      </div>
      {confirming !== undefined && (
        <form class="confirm" data-testid="confirm-action" onSubmit={submitConfirm}>
          <label>
            Why {confirming === 'rollback' ? 'roll back' : 'cancel'}?
            <input name="reason" type="text" maxLength={2000} placeholder="p99 doubled on m1" />
          </label>
          <button type="submit" class="danger" data-testid="confirm" disabled={busy}>
            {labels[confirming]}
          </button>
          <button type="button" onClick={() => setConfirming(undefined)}>
            Keep going
          </button>
        </form>
      )}
      <ErrorBox error={error} />
    </section>
  );
}
