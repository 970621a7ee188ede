import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalPackageStore } from '../../activities/package-store/local';
import { servedDocument } from '../support/openapi-document';

/**
 * Redocly CLI's `recommended` lint (redocly.yaml at the repository's root; a rule turned off
 * there says why) of the document the api serves, as api/main.ts builds it: a local package
 * store (the signed download is documented) and a public URL. No error and no warning. Redocly
 * is kept off the network: telemetry and the update check are off, and its proxy is a socket
 * here that must see no connection.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const redocly = path.join(root, 'node_modules', '@redocly', 'cli', 'bin', 'cli.js');
let dir: string;
let proxy: net.Server;
let proxyUrl: string;
let connections = 0;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'relguard-api-lint-'));
  proxy = net.createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => proxy?.close(resolve));
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

interface LintReport {
  totals: { errors: number; warnings: number; ignored: number };
  problems: {
    ruleId: string;
    severity: string;
    message: string;
    location: { pointer: string }[];
  }[];
}

function lint(file: string): Promise<{ code: number; report: LintReport; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [redocly, 'lint', '--config', path.join(root, 'redocly.yaml'), '--format', 'json', file],
      {
        cwd: root,
        timeout: 120_000,
        maxBuffer: 16 * 1024 * 1024,
        env: {
          PATH: process.env.PATH,
          HOME: dir,
          REDOCLY_TELEMETRY: 'off',
          REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
          NO_COLOR: '1',
          HTTP_PROXY: proxyUrl,
          HTTPS_PROXY: proxyUrl,
          http_proxy: proxyUrl,
          https_proxy: proxyUrl,
        },
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        try {
          resolve({ code, report: JSON.parse(stdout) as LintReport, stderr });
        } catch {
          reject(new Error(`redocly lint printed no report (exit ${code}): ${stderr}`));
        }
      },
    );
  });
}

describe('Redocly lint of /openapi.json', () => {
  it('finds no error and no warning with the recommended rules, offline', async () => {
    const document = await servedDocument({
      packageStore: new LocalPackageStore({
        dir,
        baseUrl: 'https://relguard.test/packages',
        urlSecret: 'lint-url-secret-0123456789abcdef0123456789ab',
      }),
      publicUrl: 'https://relguard.test',
    });
    expect(Object.keys(document.paths)).toContain('/packages/{key}');
    const file = path.join(dir, 'openapi.json');
    await writeFile(file, JSON.stringify(document, null, 2));
    const { code, report } = await lint(file);
    const problems = report.problems.map(
      (problem) =>
        `${problem.severity} ${problem.ruleId} at ${problem.location[0]?.pointer}: ${problem.message}`,
    );
    expect(problems).toEqual([]);
    expect(report.totals).toEqual({ errors: 0, warnings: 0, ignored: 0 });
    expect(code).toBe(0);
    expect(connections).toBe(0);
  });

  it('fails a document that breaks a recommended rule (the lint is really run)', async () => {
    const document = await servedDocument();
    const operation = document.paths['/healthz']?.get;
    delete operation?.operationId;
    const file = path.join(dir, 'broken.json');
    await writeFile(file, JSON.stringify(document));
    const { report } = await lint(file);
    expect(report.problems.map((problem) => problem.ruleId)).toContain('operation-operationId');
    expect(connections).toBe(0);
  });
});
