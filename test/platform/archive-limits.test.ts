import { execFile } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGzip } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../activities/logger';
import {
  extractArchive,
  inspectArchive,
  type ArchiveLimits,
} from '../../activities/platform/archive';
import { LocalPlatform } from '../../activities/platform/local';
import { FailureType, RelguardError } from '../../domain/errors';
import {
  appRuntime,
  describeFile,
  machineOnFreePort,
  startPackageServer,
  type PackageServer,
} from './fixtures';
import { header, tarBytes } from './tar-writer';

/**
 * Gzip bombs and archives of too many entries: refused while the archive is inspected, with
 * the limit named, before a byte is extracted. Archives are real gzip streams (the bombs are
 * written by zlib a chunk at a time, never held in memory) or made by the tar CLI.
 */
const run = promisify(execFile);
const MiB = 1024 * 1024;
const limits: ArchiveLimits = { maxUnpackedBytes: 16 * MiB, maxEntries: 100 };

let workDir: string;
let counter = 0;

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'relguard-archive-limits-'));
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

/** `parts` gzipped into a file as they come; zeros stand for `{ zeros: n }` bytes of them. */
async function gzipFile(parts: (Buffer | { zeros: number })[]): Promise<string> {
  const file = path.join(workDir, `bomb-${++counter}.tar.gz`);
  const chunk = Buffer.alloc(MiB);
  function* bytes() {
    for (const part of parts) {
      if (Buffer.isBuffer(part)) {
        yield part;
        continue;
      }
      for (let left = part.zeros; left > 0; left -= chunk.length) {
        yield left >= chunk.length ? chunk : chunk.subarray(0, left);
      }
    }
  }
  await pipeline(Readable.from(bytes()), createGzip({ level: 9 }), createWriteStream(file));
  return file;
}

async function refusal(promise: Promise<unknown>): Promise<RelguardError> {
  const error: unknown = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error, 'the archive was accepted').toBeInstanceOf(RelguardError);
  expect((error as RelguardError).type).toBe(FailureType.BadPackage);
  return error as RelguardError;
}

describe('archive limits', () => {
  it('refuses a gzip bomb (one entry of 128 MiB in 128 kB) at its header, extracting nothing', async () => {
    const size = 128 * MiB;
    const file = await gzipFile([
      header({ name: 'bomb.bin', size }),
      { zeros: size },
      Buffer.alloc(1024),
    ]);
    expect((await stat(file)).size).toBeLessThan(MiB);
    const destination = path.join(workDir, 'bomb-out');

    const error = await refusal(extractArchive(file, destination, { limits }));

    expect(error.message).toContain(
      `unpacks to more than ${16 * MiB} bytes (at the entry "bomb.bin"), the limit ARCHIVE_MAX_UNPACKED_MB sets`,
    );
    expect(error.details).toMatchObject({ limit: 'ARCHIVE_MAX_UNPACKED_MB', entry: 'bomb.bin' });
    expect(existsSync(destination)).toBe(false);
  });

  it('refuses many small files that add up past the limit, naming the first one past it', async () => {
    const entries = Array.from({ length: 40 }, (_, i) => ({ name: `part-${i}.bin`, size: MiB }));
    const file = await gzipFile([
      ...entries.flatMap((entry) => [header(entry), { zeros: entry.size }]),
      Buffer.alloc(1024),
    ]);
    const destination = path.join(workDir, 'parts-out');

    const error = await refusal(extractArchive(file, destination, { limits }));

    // Their content alone would fit 16 files; with their headers the gunzipped stream is past
    // 16 MiB inside the 16th, and that is where the read stops.
    expect(error.message).toContain('(at the entry "part-15.bin")');
    expect(existsSync(destination)).toBe(false);
  });

  it('cuts off a stream that inflates past the limit after the archive has ended', async () => {
    // A valid archive of one small file, then 64 MiB of zeros inside the same gzip stream: no
    // header declares them, so only the count of gunzipped bytes stops them.
    const file = await gzipFile([
      tarBytes([{ name: 'server.js', data: 'ok' }]),
      { zeros: 64 * MiB },
    ]);

    const error = await refusal(inspectArchive(file, { limits }));

    expect(error.message).toContain('the limit ARCHIVE_MAX_UNPACKED_MB sets');
    // Within the limit the same archive is fine.
    await expect(
      inspectArchive(file, { limits: { maxUnpackedBytes: 128 * MiB, maxEntries: 100 } }),
    ).resolves.toEqual({ entries: 1, bytes: 2 });
  });

  it('refuses an archive of more entries than the limit (made by the tar CLI), extracting nothing', async () => {
    const tree = path.join(workDir, 'many');
    await mkdir(tree);
    await Promise.all(
      Array.from({ length: 300 }, (_, i) => writeFile(path.join(tree, `f${i}.txt`), '')),
    );
    const file = path.join(workDir, 'many.tar.gz');
    await run('tar', ['-czf', file, '-C', tree, '.']);
    const destination = path.join(workDir, 'many-out');

    const error = await refusal(extractArchive(file, destination, { limits }));

    expect(error.message).toMatch(
      /holds more than 100 entries \(the next is "[^"]+"\), the limit ARCHIVE_MAX_ENTRIES sets/,
    );
    expect(error.details).toMatchObject({ limit: 'ARCHIVE_MAX_ENTRIES', max_entries: 100 });
    expect(existsSync(destination)).toBe(false);

    // With room for them, every entry (the 300 files and the folder itself) is extracted.
    const summary = await extractArchive(file, destination, {
      limits: { maxUnpackedBytes: 16 * MiB, maxEntries: 301 },
    });
    expect(summary.entries).toBe(301);
    expect(await readdir(destination)).toHaveLength(300);
  });
});

describe('a deploy on the local platform', () => {
  let server: PackageServer;

  beforeAll(async () => {
    server = await startPackageServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('refuses a gzip bomb with the limit named, and the machine gets no release', async () => {
    const deployPath = path.join(workDir, 'deploy');
    const platform = new LocalPlatform({
      releasesKept: 3,
      logger: createLogger('test-platform', 'silent'),
      archiveLimits: limits,
    });
    const size = 64 * MiB;
    const bomb = await describeFile(
      '6.6.6',
      await gzipFile([
        header({ name: 'server.js', data: '', size: 2 }),
        Buffer.from('ok'.padEnd(512, '\0')),
        header({ name: 'bomb.bin', size }),
        { zeros: size },
        Buffer.alloc(1024),
      ]),
    );
    const machine = await machineOnFreePort('m1');
    const target = { app: appRuntime(deployPath), machine };

    const error = await refusal(platform.deploy(target, server.ref(bomb)));

    expect(error.message).toContain('the limit ARCHIVE_MAX_UNPACKED_MB sets');
    expect(error.message).toContain('"bomb.bin"');
    const machineDir = path.join(deployPath, 'm1');
    const releases = path.join(machineDir, 'releases');
    expect(existsSync(releases) ? await readdir(releases) : []).toEqual([]);
    expect(existsSync(path.join(machineDir, 'current'))).toBe(false);
    expect(await platform.currentVersion(target)).toBeUndefined();
  });
});
