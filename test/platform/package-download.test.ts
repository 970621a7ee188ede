import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailureType, RelguardError } from '../../domain/errors';
import { KeyedLock } from '../../activities/platform/keyed-lock';
import { downloadPackage } from '../../activities/platform/package-download';
import type { PackageRef } from '../../activities/platform/types';
import { freePort } from '../support/free-port';
import {
  buildAppPackage,
  startPackageServer,
  type BuiltPackage,
  type PackageServer,
} from './fixtures';

let workDir: string;
let server: PackageServer;
let pkg: BuiltPackage;

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'relguard-download-'));
  server = await startPackageServer();
  pkg = await buildAppPackage(workDir, '1.0.0');
});

afterAll(async () => {
  await server.close();
  await rm(workDir, { recursive: true, force: true });
});

async function downloadFailure(ref: PackageRef): Promise<RelguardError> {
  const file = path.join(workDir, 'downloads', 'package.tar.gz');
  await rm(path.dirname(file), { recursive: true, force: true });
  await mkdir(path.dirname(file), { recursive: true });
  const error: unknown = await downloadPackage(ref, file, { fetch }).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(RelguardError);
  // Whatever went wrong, no partial file is left behind.
  expect(await readdir(path.dirname(file))).toEqual([]);
  return error as RelguardError;
}

describe('downloadPackage', () => {
  it('treats a missing package as Unavailable and never prints the signed query', async () => {
    const ref = server.ref(pkg);
    const error = await downloadFailure({ ...ref, url: ref.url.replace('app-1.0.0', 'nothing') });
    expect(error.type).toBe(FailureType.Unavailable);
    expect(error.message).toContain('HTTP 404');
    expect(error.message).not.toContain('secret-signature');
  });

  it('treats an unreachable store as Unavailable', async () => {
    const closedPort = await freePort();
    const error = await downloadFailure({
      ...server.ref(pkg),
      url: `http://127.0.0.1:${closedPort}/x.tar.gz`,
    });
    expect(error.type).toBe(FailureType.Unavailable);
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('refuses a package larger or smaller than recorded', async () => {
    const larger = await downloadFailure({ ...server.ref(pkg), size: pkg.size - 10 });
    expect(larger.type).toBe(FailureType.BadPackage);
    expect(larger.message).toContain(`larger than the ${pkg.size - 10} bytes recorded`);
    const smaller = await downloadFailure({ ...server.ref(pkg), size: pkg.size + 10 });
    expect(smaller.type).toBe(FailureType.BadPackage);
    expect(smaller.message).toContain(`has ${pkg.size} bytes, not the ${pkg.size + 10} recorded`);
  });
});

describe('KeyedLock', () => {
  it('runs calls of one key one after another and calls of different keys together', async () => {
    const lock = new KeyedLock();
    const events: string[] = [];
    const task = (name: string, ms: number) => async () => {
      events.push(`${name} start`);
      await delay(ms);
      events.push(`${name} end`);
      if (name === 'a1') throw new Error('a1 failed');
      return name;
    };
    const results = await Promise.allSettled([
      lock.run('a', task('a1', 30)),
      lock.run('a', task('a2', 10)),
      lock.run('b', task('b1', 10)),
    ]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    expect(events.indexOf('a2 start')).toBeGreaterThan(events.indexOf('a1 end'));
    expect(events.indexOf('b1 start')).toBeLessThan(events.indexOf('a1 end'));
  });
});
