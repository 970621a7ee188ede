import { useState } from 'preact/hooks';
import { apiWithToken, ApiError, body, saveToken } from '../api';
import type { Whoami } from '../types';
import { formText } from '../form';
import { ErrorBox } from './error-box';

/**
 * Asks for an api token (`./temporal-dev.sh up` writes the local admin's to .relguard/token),
 * checks it with GET /api/v1/whoami, and keeps it in this browser.
 */
export function SignIn({
  onSignedIn,
  reason,
}: {
  onSignedIn: (who: Whoami) => void;
  reason?: string;
}) {
  const [error, setError] = useState<Error | undefined>(
    reason === undefined ? undefined : new Error(reason),
  );
  const [busy, setBusy] = useState(false);

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    const token = formText(event.currentTarget, 'token');
    if (token === '') {
      setError(new Error('paste an api token'));
      return;
    }
    setBusy(true);
    try {
      const who = body(await apiWithToken(token).GET('/api/v1/whoami'));
      saveToken(token);
      onSignedIn(who);
    } catch (failure) {
      setError(
        failure instanceof ApiError && failure.status === 401
          ? new Error('that token is not valid (revoked, or mistyped)')
          : (failure as Error),
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="sign-in">
      <h1>relguard</h1>
      <form data-testid="sign-in" onSubmit={(event) => void submit(event)}>
        <label>
          API token
          <input name="token" type="password" autocomplete="off" placeholder="rg_…" autofocus />
        </label>
        <p class="hint">
          The local admin token is in <code>.relguard/token</code> after{' '}
          <code>./temporal-dev.sh up</code>. It stays in this browser only.
        </p>
        <ErrorBox error={error} />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
