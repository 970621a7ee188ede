import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const webDir = path.dirname(fileURLToPath(import.meta.url));

/**
 * The console: Preact through oxc's automatic JSX runtime (no Preact plugin needed), served by
 * the api under /console/. `npm run build:console` and the tests build it through web/build.ts.
 */
export default defineConfig({
  root: webDir,
  base: '/console/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: path.join(webDir, '..', 'dist', 'console'),
    emptyOutDir: true,
    target: 'es2022',
    // A few hundred kB at most: one chunk loads faster than a waterfall of small ones.
    chunkSizeWarningLimit: 400,
  },
  // `npx vite web` for working on the console, against an api on its default port.
  server: { host: '127.0.0.1', proxy: { '/api': 'http://127.0.0.1:3000' } },
});
