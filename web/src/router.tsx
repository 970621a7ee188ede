import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';

/** Where the console is served; every page is a path under it. */
const base = '/console';

export type Route =
  | { page: 'applications' }
  | { page: 'application'; id: string }
  | { page: 'release'; id: string }
  | { page: 'not-found'; path: string };

export function parseRoute(pathname: string): Route {
  const inside = pathname.startsWith(`${base}/`) ? pathname.slice(base.length) : pathname;
  const parts = inside.split('/').filter((part) => part !== '');
  const [first, second] = parts.map((part) => decodeURIComponent(part));
  if (parts.length === 0) return { page: 'applications' };
  if (first === 'apps' && second !== undefined && parts.length === 2) {
    return { page: 'application', id: second };
  }
  if (first === 'releases' && second !== undefined && parts.length === 2) {
    return { page: 'release', id: second };
  }
  return { page: 'not-found', path: inside };
}

/** The browser address of a console path (`/apps/x` → `/console/apps/x`). */
export const consoleUrl = (path: string): string => `${base}${path}`;

const navigated = 'relguard:navigate';

export function navigate(path: string): void {
  history.pushState(null, '', consoleUrl(path));
  window.dispatchEvent(new Event(navigated));
}

/** The current location's path; re-renders on navigation and on back/forward. */
export function usePathname(): string {
  const [pathname, setPathname] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPathname(location.pathname);
    window.addEventListener('popstate', update);
    window.addEventListener(navigated, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(navigated, update);
    };
  }, []);
  return pathname;
}

interface LinkProps {
  /** A console path such as `/apps/<id>`. */
  to: string;
  children: ComponentChildren;
  class?: string;
  'data-testid'?: string;
}

/** A link inside the console: a real href (open in a new tab works), navigated in place. */
export function Link({ to, children, ...rest }: LinkProps) {
  const onClick = (event: MouseEvent) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
      return;
    }
    event.preventDefault();
    navigate(to);
  };
  return (
    <a {...rest} href={consoleUrl(to)} onClick={onClick}>
      {children}
    </a>
  );
}
