import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'vite';

const configFile = fileURLToPath(new URL('vite.config.ts', import.meta.url));

/** Builds the console into `outDir` (emptied first): index.html and its hashed assets/. */
export async function buildConsole(outDir: string): Promise<void> {
  await build({
    configFile,
    logLevel: 'warn',
    build: { outDir: path.resolve(outDir), emptyOutDir: true },
  });
}

// `npm run build:console [-- <outDir>]`
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await buildConsole(process.argv[2] ?? 'dist/console');
}
