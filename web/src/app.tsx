import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, body, forgetToken, onUnauthorized, storedToken } from './api';
import { ErrorBox } from './components/error-box';
import { SignIn } from './components/sign-in';
import { ApplicationPage } from './pages/application';
import { ApplicationsPage } from './pages/applications';
import { ReleasePage } from './pages/release';
import { Link, parseRoute, usePathname } from './router';
import type { Whoami } from './types';

type Session =
  | { state: 'checking' }
  | { state: 'signed-out'; reason?: string }
  | { state: 'signed-in'; who: Whoami }
  | { state: 'failed'; error: Error };

/** Who the stored token is, or why there is nobody. */
async function checkToken(): Promise<Session> {
  if (storedToken() === undefined) return { state: 'signed-out' };
  try {
    return { state: 'signed-in', who: body(await api.GET('/api/v1/whoami')) };
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      return { state: 'signed-out', reason: 'the saved token is no longer valid: sign in again' };
    }
    return { state: 'failed', error: error as Error };
  }
}

export function App() {
  const [session, setSession] = useState<Session>({ state: 'checking' });
  const pathname = usePathname();

  useEffect(() => {
    void checkToken().then(setSession);
    // Any call the api refuses for the token (revoked meanwhile) brings the sign-in back.
    return onUnauthorized(() =>
      setSession({ state: 'signed-out', reason: 'the api refused the token: sign in again' }),
    );
  }, []);

  if (session.state === 'checking') return <p class="muted page">checking the token…</p>;
  if (session.state === 'signed-out') {
    return (
      <SignIn
        reason={session.reason}
        onSignedIn={(who) => setSession({ state: 'signed-in', who })}
      />
    );
  }
  if (session.state === 'failed') {
    return (
      <main>
        <ErrorBox error={session.error} />
        <button type="button" onClick={() => void checkToken().then(setSession)}>
          Try again
        </button>
      </main>
    );
  }

  const { who } = session;
  const route = parseRoute(pathname);
  return (
    <>
      <header class="top">
        <Link to="/" class="brand">
          relguard
        </Link>
        <span class="who">
          {who.name} ({who.role})
        </span>
        <button
          type="button"
          class="small"
          onClick={() => {
            forgetToken();
            setSession({ state: 'signed-out' });
          }}
        >
          Sign out
        </button>
      </header>
      {route.page === 'applications' && <ApplicationsPage />}
      {route.page === 'application' && (
        <ApplicationPage key={route.id} id={route.id} role={who.role} />
      )}
      {route.page === 'release' && <ReleasePage key={route.id} id={route.id} role={who.role} />}
      {route.page === 'not-found' && (
        <main>
          <h1>Not found</h1>
          <p>
            Nothing at <code>{route.path}</code>. <Link to="/">Applications</Link>
          </p>
        </main>
      )}
    </>
  );
}
