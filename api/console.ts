import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Hono } from 'hono';
import type { ApiEnv } from './context';
import { errorBody } from './errors';

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Vite names what it bundles by content hash under assets/: such a file never changes. */
const immutable = 'public, max-age=31536000, immutable';
/** index.html names the current assets: always asked again, so a new build shows at once. */
const revalidate = 'no-cache';

/**
 * The page's own files only: scripts, styles and the api on this origin, no inline script, no
 * framing. uPlot sizes its elements through inline styles, hence 'unsafe-inline' for styles.
 */
const contentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'self'",
].join('; ');

async function isFile(file: string): Promise<boolean> {
  return (await stat(file).catch(() => undefined))?.isFile() ?? false;
}

/**
 * The web console (web/, built by `npm run build:console`) under /console/, open like /docs:
 * the page holds no data, and every api call it makes carries the person's bearer token.
 * Paths that name no file get index.html (the console routes in the browser), except under
 * assets/, where a missing file is a 404 rather than a page the browser would run as script.
 * The build is looked for at each request, so building while the api runs is enough; without
 * one the console answers 503 and says how to build it.
 */
export function mountConsole(app: Hono<ApiEnv>, consoleDir: string | undefined): void {
  const root = consoleDir === undefined ? undefined : path.resolve(consoleDir);
  const index = root === undefined ? undefined : path.join(root, 'index.html');
  const notBuilt = 'the console is not built: run npm run build:console';

  app.get('/', (c) => c.redirect('/console/', 302));
  app.get('/console', (c) => c.redirect('/console/', 301));
  app.get('/console/*', async (c) => {
    if (root === undefined || index === undefined || !(await isFile(index))) {
      return c.json(errorBody('console_not_built', notBuilt), 503);
    }
    let relative: string;
    try {
      relative = decodeURIComponent(c.req.path.slice('/console/'.length));
    } catch {
      return c.json(errorBody('bad_request', 'malformed path'), 400);
    }
    const file = path.resolve(root, relative);
    // `relative` is the browser's: `..` in any spelling must not leave the folder.
    const inside = file.startsWith(root + path.sep);
    const found = inside && (await isFile(file));
    if (!found && relative !== '' && (relative.startsWith('assets/') || !inside)) {
      return c.json(errorBody('not_found', `no console file ${relative}`), 404);
    }
    const served = found ? file : index;
    const type = contentTypes[path.extname(served)] ?? 'application/octet-stream';
    return c.body(await readFile(served), 200, {
      'content-type': type,
      'cache-control': found && relative.startsWith('assets/') ? immutable : revalidate,
      'x-content-type-options': 'nosniff',
      ...(type === contentTypes['.html']
        ? { 'content-security-policy': contentSecurityPolicy }
        : {}),
    });
  });
}
