import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const projectRoot = fileURLToPath(new URL('..', import.meta.url));

/**
 * The esbuild flags of `npm run build:mockserver` (test/mockserver/bundle.test.ts keeps the two
 * equal). The banner gives the ESM bundle a `require`, which the CommonJS dependencies it
 * inlines (pino, prom-client) call for Node built-ins.
 */
export const mockserverBanner =
  "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);";

/** Bundles the mockserver into one file that runs under plain node, as relguard deploys it. */
export async function buildMockserverBundle(outfile: string): Promise<void> {
  await build({
    entryPoints: [path.join(projectRoot, 'mockserver', 'main.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    banner: { js: mockserverBanner },
    outfile,
    logLevel: 'warning',
  });
}
