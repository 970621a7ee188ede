import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * "ledger": a tiny service written for the health watcher's tests, unlike the mockserver and
 * the orders service: its health check is `/status/ready` (not /healthz), its only metric is
 * `ledger_balance_updates_total`, and it writes its pid to `ledger.pid` in the folder it runs
 * from, so a test can kill it the way a crash or the OOM killer would. A file `slow-health`
 * there (a number of ms) makes its health check answer that late.
 */
const ledgerServerJs = String.raw`'use strict';
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const port = Number(process.env.PORT || 8080);
let updates = 0;
fs.writeFileSync(path.join(process.cwd(), 'ledger.pid'), String(process.pid));
http
  .createServer((req, res) => {
    if (req.url === '/status/ready') {
      // A file 'slow-health' beside it makes each health check take that many ms.
      let slowMs = 0;
      try {
        slowMs = Number(fs.readFileSync(path.join(process.cwd(), 'slow-health'), 'utf8')) || 0;
      } catch {}
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ready');
      }, slowMs);
      return;
    }
    if (req.url === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      return res.end('# TYPE ledger_balance_updates_total counter\nledger_balance_updates_total ' + updates + '\n');
    }
    updates += 1;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ updates }));
  })
  .listen(port, '127.0.0.1');
`;

/** A git repository of the ledger service with one tag per version, in a new temporary folder. */
export async function createLedgerRepo(tags: string[]): Promise<string> {
  const repo = await mkdtemp(path.join(os.tmpdir(), 'relguard-ledger-repo-'));
  const git = (...args: string[]) =>
    run('git', ['-c', 'user.name=ledger', '-c', 'user.email=ledger@example.invalid', ...args], {
      cwd: repo,
    });
  await git('init', '-q', '-b', 'main');
  await writeFile(path.join(repo, 'server.js'), ledgerServerJs);
  await writeFile(
    path.join(repo, 'package.json'),
    `${JSON.stringify({ name: 'ledger', private: true, type: 'commonjs' }, null, 2)}\n`,
  );
  for (const tag of tags) {
    await writeFile(path.join(repo, 'VERSION'), `${tag}\n`);
    await git('add', '-A');
    await git('commit', '-q', '-m', `ledger ${tag}`);
    await git('tag', tag);
  }
  return repo;
}

/** The folder the ledger of a machine runs in (its pid file's), for `slow-health`. */
export async function ledgerDir(deployPath: string, machineId: string): Promise<string> {
  const pid = await ledgerPid(deployPath, machineId);
  const { stdout } = await run('find', [path.join(deployPath, machineId), '-name', 'ledger.pid']);
  for (const file of stdout.split('\n').filter(Boolean)) {
    if (Number(await readFile(file, 'utf8')) === pid) return path.dirname(file);
  }
  throw new Error(`no folder of the ledger on ${machineId}`);
}

/**
 * The pid of the ledger running on a machine: of the `ledger.pid` files under the machine's
 * folder (one per release started there), the one whose process lives.
 */
export async function ledgerPid(deployPath: string, machineId: string): Promise<number> {
  const { stdout } = await run('find', [path.join(deployPath, machineId), '-name', 'ledger.pid']);
  const files = stdout.split('\n').filter(Boolean);
  const pids = await Promise.all(files.map(async (file) => Number(await readFile(file, 'utf8'))));
  const alive = pids.filter((pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  });
  if (alive.length !== 1) {
    throw new Error(`expected one live ledger on ${machineId}, found ${alive.length}`);
  }
  return alive[0]!;
}
