import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Machine } from '../../domain';
import type { AppRuntime, PackageRef } from '../../activities/platform/types';
import { freePort } from '../support/free-port';

const run = promisify(execFile);

/**
 * The application the platform tests deploy: it answers /healthz, and /version with what its
 * environment told it, so a test sees which release runs where and with which variables.
 */
const serverSource = `import http from 'node:http';
const server = http.createServer((request, response) => {
  if (request.url === '/healthz') return response.end('ok');
  if (request.url === '/version') {
    response.setHeader('content-type', 'application/json');
    return response.end(JSON.stringify({
      version: process.env.RELGUARD_VERSION,
      port: process.env.PORT,
      host: process.env.HOST,
      app: process.env.RELGUARD_APP,
      machine: process.env.RELGUARD_MACHINE_ID,
      deploy_path: process.env.RELGUARD_DEPLOY_PATH,
      cwd: process.cwd(),
      leaked: Object.keys(process.env).filter((name) => /SECRET|TOKEN|KODO|MONGODB/.test(name)),
    }));
  }
  response.statusCode = 404;
  response.end();
});
server.listen(Number(process.env.PORT), process.env.HOST, () => {
  console.log('listening on ' + process.env.HOST + ':' + process.env.PORT);
});
process.on('SIGTERM', () => process.exit(0));
`;

export interface BuiltPackage {
  version: string;
  file: string;
  md5: string;
  sha256: string;
  size: number;
}

/** The app as a .tar.gz made by the tar CLI, as relguard's package build makes it. */
export async function buildAppPackage(workDir: string, version: string): Promise<BuiltPackage> {
  const source = path.join(workDir, `app-${version}`);
  await mkdir(source, { recursive: true });
  await writeFile(path.join(source, 'server.js'), serverSource);
  await writeFile(path.join(source, 'package.json'), '{ "private": true, "type": "module" }\n');
  await writeFile(path.join(source, 'VERSION'), `${version}\n`);
  const file = path.join(workDir, `app-${version}.tar.gz`);
  await run('tar', ['-czf', file, '-C', source, '.']);
  return describeFile(version, file);
}

export async function describeFile(version: string, file: string): Promise<BuiltPackage> {
  const bytes = await readFile(file);
  return {
    version,
    file,
    md5: createHash('md5').update(bytes).digest('hex'),
    sha256: createHash('sha256').update(bytes).digest('hex'),
    size: bytes.length,
  };
}

export interface PackageServer {
  ref(pkg: BuiltPackage): PackageRef;
  /** How many times the package was asked for. */
  downloads(pkg: BuiltPackage): number;
  close(): Promise<void>;
}

/** Serves package files over HTTP on 127.0.0.1 and counts the requests for each. */
export async function startPackageServer(): Promise<PackageServer> {
  const files = new Map<string, string>();
  const counts = new Map<string, number>();
  const server = http.createServer((request, response) => {
    const name = new URL(request.url ?? '/', 'http://x').pathname;
    counts.set(name, (counts.get(name) ?? 0) + 1);
    const file = files.get(name);
    if (file === undefined) {
      response.statusCode = 404;
      response.end();
      return;
    }
    readFile(file).then(
      (bytes) => response.end(bytes),
      () => {
        response.statusCode = 500;
        response.end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const pathOf = (pkg: BuiltPackage) => `/packages/${path.basename(pkg.file)}`;
  return {
    ref(pkg) {
      files.set(pathOf(pkg), pkg.file);
      // A signing token, as a private store adds: it must never appear in a message.
      return {
        version: pkg.version,
        url: `http://127.0.0.1:${port}${pathOf(pkg)}?token=secret-signature`,
        md5: pkg.md5,
        // Checked beside the MD5 on relguard's side and again on an ssh machine.
        sha256: pkg.sha256,
        size: pkg.size,
      };
    },
    downloads: (pkg) => counts.get(pathOf(pkg)) ?? 0,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function appRuntime(deployPath: string, overrides: Partial<AppRuntime> = {}): AppRuntime {
  return {
    name: 'demo',
    deploy_path: deployPath,
    config_path: '',
    start_cmd: 'node server.js',
    stop_cmd: '',
    health_check: { path: '/healthz', timeout_seconds: 10 },
    ...overrides,
  };
}

export async function machineOnFreePort(
  id: string,
  extra: Partial<Machine> = {},
): Promise<Machine> {
  return {
    id,
    host: '127.0.0.1',
    port: await freePort(),
    status: 'unknown',
    version: '',
    labels: {},
    ...extra,
  };
}

export interface VersionAnswer {
  version: string;
  port: string;
  host: string;
  app: string;
  machine: string;
  deploy_path: string;
  cwd: string;
  leaked: string[];
}

export async function askVersion(machine: Machine): Promise<VersionAnswer> {
  const response = await fetch(`http://${machine.host}:${machine.port}/version`, {
    signal: AbortSignal.timeout(2000),
  });
  return (await response.json()) as VersionAnswer;
}

export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
  // A zombie is gone for every purpose but its process table entry.
  return isZombie(pid);
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}
