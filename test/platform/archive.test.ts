import { execFile } from 'node:child_process';
import {
  chmod,
  link,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  readlink,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailureType, RelguardError } from '../../domain/errors';
import { extractArchive, inspectArchive } from '../../activities/platform/archive';
import { TarReader } from '../../activities/platform/tar-reader';
import { gnuLongHeader, paxHeader, tarBytes, tarGz, type RawEntry } from './tar-writer';

const run = promisify(execFile);
let workDir: string;
let counter = 0;

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'relguard-archive-'));
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

async function archiveFile(bytes: Buffer): Promise<string> {
  const file = path.join(workDir, `archive-${++counter}.tar.gz`);
  await writeFile(file, bytes);
  return file;
}

async function refusal(file: string): Promise<RelguardError> {
  const error: unknown = await inspectArchive(file).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error, 'the archive was accepted').toBeInstanceOf(RelguardError);
  const relguardError = error as RelguardError;
  expect(relguardError.type).toBe(FailureType.BadPackage);
  return relguardError;
}

/** A tree with every kind of entry a real package has, archived by the tar CLI. */
async function buildTree(root: string): Promise<void> {
  await mkdir(path.join(root, 'data/nested'), { recursive: true });
  await mkdir(path.join(root, 'bin'));
  await writeFile(path.join(root, 'server.js'), 'console.log("hi")\n');
  await writeFile(path.join(root, 'bin/run'), '#!/bin/sh\necho run\n');
  await chmod(path.join(root, 'bin/run'), 0o755);
  await writeFile(path.join(root, 'data/nested/deep.txt'), 'deep\n');
  await link(path.join(root, 'data/nested/deep.txt'), path.join(root, 'data/hard.txt'));
  await symlink('data/nested/deep.txt', path.join(root, 'link'));
  await symlink('../nested', path.join(root, 'data/nested/self-parent'));
  await symlink('data', path.join(root, 'dirlink'));
  const long = `${'long-directory-name-'.repeat(4)}/${'long-file-name-'.repeat(5)}.txt`;
  await mkdir(path.join(root, path.dirname(long)), { recursive: true });
  await writeFile(path.join(root, long), 'long\n');
}

/** The entry names as relguard's reader sees them, and as GNU tar does (what ssh machines run). */
async function namesBothWays(file: string): Promise<[string[], string[]]> {
  const ours: string[] = [];
  await pipeline(
    createReadStream(file),
    createGunzip(),
    new TarReader({ entry: (e) => void ours.push(e.path) }),
  );
  const { stdout } = await run('tar', ['-tzf', file]);
  const gnu = stdout.split('\n').filter((line) => line !== '');
  const normal = (names: string[]) => names.map((name) => name.replace(/\/$/, '')).sort();
  return [normal(ours), normal(gnu)];
}

describe('archive validation', () => {
  it.each(['gnu', 'pax', 'ustar'])(
    'accepts and extracts a normal tree archived by tar --format=%s',
    async (format) => {
      const source = path.join(workDir, `tree-${format}`);
      await buildTree(source);
      const file = path.join(workDir, `tree-${format}.tar.gz`);
      await run('tar', [`--format=${format}`, '-czf', file, '-C', source, '.']);

      const summary = await inspectArchive(file);
      expect(summary.entries).toBeGreaterThanOrEqual(10);

      const target = path.join(workDir, `extracted-${format}`);
      await extractArchive(file, target);
      expect(await readFile(path.join(target, 'server.js'), 'utf8')).toBe('console.log("hi")\n');
      expect((await stat(path.join(target, 'bin/run'))).mode & 0o777).toBe(0o755);
      expect(await readlink(path.join(target, 'link'))).toBe('data/nested/deep.txt');
      expect(await readFile(path.join(target, 'link'), 'utf8')).toBe('deep\n');
      expect(await readlink(path.join(target, 'dirlink'))).toBe('data');
      const deep = await stat(path.join(target, 'data/nested/deep.txt'));
      const hard = await stat(path.join(target, 'data/hard.txt'));
      expect(hard.ino).toBe(deep.ino);
      const longDir = path.join(target, `${'long-directory-name-'.repeat(4)}`);
      expect(await readdir(longDir)).toEqual([`${'long-file-name-'.repeat(5)}.txt`]);

      const [ours, gnu] = await namesBothWays(file);
      expect(ours).toEqual(gnu);
    },
  );

  const refused: [string, RawEntry[], string][] = [
    [
      'an absolute path',
      [{ name: '/etc/relguard-evil', data: 'x' }],
      '"/etc/relguard-evil" is an absolute path',
    ],
    ['a ../x entry', [{ name: '../x', data: 'x' }], '"../x" has a ".." segment'],
    ['a ".." in the middle', [{ name: 'a/../../x', data: 'x' }], '"a/../../x" has a ".." segment'],
    [
      'a symlink pointing outside',
      [{ name: 'escape', type: '2', linkname: '../../etc' }],
      '"escape" is a symlink to "../../etc", which resolves outside the release folder',
    ],
    [
      'a symlink to an absolute path',
      [{ name: 'passwd', type: '2', linkname: '/etc/passwd' }],
      '"passwd" is a symlink to the absolute path "/etc/passwd"',
    ],
    [
      'a symlink that leaves through another symlink',
      [
        { name: 'here', type: '2', linkname: '.' },
        { name: 'sub/', type: '5' },
        { name: 'sub/up', type: '2', linkname: '../here/..' },
      ],
      '"sub/up" is a symlink to "../here/..", which resolves outside the release folder',
    ],
    [
      'an entry beneath a symlink',
      [
        { name: 'dir', type: '2', linkname: 'real' },
        { name: 'dir/file', data: 'x' },
      ],
      '"dir/file" lies beneath the symlink "dir"',
    ],
    [
      'a symlink loop',
      [
        { name: 'a', type: '2', linkname: 'b/x' },
        { name: 'b', type: '2', linkname: 'a/x' },
      ],
      'is part of a symlink loop',
    ],
    [
      'a hardlink outside',
      [{ name: 'shadow', type: '1', linkname: '../../etc/shadow' }],
      '"shadow" is a hard link to "../../etc/shadow", outside the release folder',
    ],
    [
      'an absolute hardlink',
      [{ name: 'shadow', type: '1', linkname: '/etc/shadow' }],
      '"shadow" is a hard link to "/etc/shadow", outside the release folder',
    ],
    [
      'a hardlink to no file of the archive',
      [{ name: 'ghost', type: '1', linkname: 'missing' }],
      '"ghost" is a hard link to "missing", which is not a file earlier in the archive',
    ],
    ['a character device', [{ name: 'null', type: '3' }], '"null" is a device file'],
    ['a block device', [{ name: 'sda', type: '4' }], '"sda" is a device file'],
    ['a named pipe', [{ name: 'pipe', type: '6' }], '"pipe" is a named pipe (FIFO)'],
    ['an unknown entry type', [{ name: 'odd', type: 'V' }], '"odd" has the tar type \'V\''],
    [
      'a pax path that climbs out',
      [paxHeader({ path: '../../pax-evil' }), { name: 'innocent', data: 'x' }],
      '"../../pax-evil" has a ".." segment',
    ],
    [
      'a pax linkpath that leaves',
      [paxHeader({ linkpath: '../../../etc' }), { name: 'ok-link', type: '2', linkname: 'ok' }],
      '"ok-link" is a symlink to "../../../etc"',
    ],
    [
      'a GNU long name that climbs out',
      [gnuLongHeader(`../${'x'.repeat(120)}`), { name: 'short', data: 'x' }],
      'has a ".." segment',
    ],
    [
      'a GNU long link name that leaves',
      [gnuLongHeader(`/${'y'.repeat(120)}`, 'K'), { name: 'lnk', type: '2', linkname: 'fine' }],
      '"lnk" is a symlink to the absolute path "/yyy',
    ],
    [
      'a ustar prefix that climbs out',
      [{ prefix: '../..', name: 'prefixed', data: 'x' }],
      '"../../prefixed" has a ".." segment',
    ],
    [
      'a file and a symlink of the same name',
      [
        { name: 'same', data: 'x' },
        { name: 'same', type: '2', linkname: 'other' },
      ],
      '"same" appears twice in the archive (as a file and a symlink)',
    ],
    [
      'a symlink with data',
      [{ name: 'fat-link', type: '2', linkname: 'x', data: 'payload' }],
      '"fat-link" is a symlink with 7 bytes of data',
    ],
    [
      'a sparse file',
      [
        paxHeader({ 'GNU.sparse.major': '1', 'GNU.sparse.minor': '0' }),
        { name: 'sparse', data: 'x' },
      ],
      '"sparse" is a sparse file',
    ],
    [
      'a global header that renames entries',
      [paxHeader({ path: 'elsewhere' }, 'g'), { name: 'a', data: 'x' }],
      'a pax global header sets "path"',
    ],
  ];

  it.each(refused)('refuses %s', async (_name, entries, message) => {
    const error = await refusal(await archiveFile(tarGz(entries)));
    expect(error.message).toContain(message);
  });

  it('refuses a corrupt gzip, naming the last entry it could read', async () => {
    const good = tarGz([
      { name: 'first.txt', data: 'a'.repeat(5000) },
      { name: 'second.txt', data: 'b'.repeat(5000) },
    ]);
    const garbage = await refusal(await archiveFile(Buffer.from('this is not gzip at all')));
    expect(garbage.message).toContain('not a valid gzip file');

    // Damage the deflate stream (not the header): the reader gets entries, then an error.
    const damaged = Buffer.from(good);
    for (let i = damaged.length - 30; i < damaged.length - 8; i++) damaged[i] = damaged[i]! ^ 0xff;
    const error = await refusal(await archiveFile(damaged));
    expect(error.message).toMatch(/not a valid gzip file|corrupt/);
  });

  it('refuses a gzip stream cut short', async () => {
    const whole = tarGz([{ name: 'big.bin', data: Buffer.alloc(50_000, 7) }]);
    const error = await refusal(await archiveFile(whole.subarray(0, whole.length - 20)));
    expect(error.message).toContain('not a valid gzip file');
  });

  it('refuses a truncated tar, naming the entry it ends in', async () => {
    const tar = tarBytes([
      { name: 'small.txt', data: 'small' },
      { name: 'big.bin', data: Buffer.alloc(10_000, 1) },
    ]);
    const error = await refusal(await archiveFile(gzipSync(tar.subarray(0, 512 * 4))));
    expect(error.message).toContain('truncated inside "big.bin"');

    const noEnd = await refusal(
      await archiveFile(tarGz([{ name: 'only.txt', data: 'x' }], { end: false })),
    );
    expect(noEnd.message).toContain('truncated after "only.txt"');
  });

  it('refuses a header with a bad checksum after a good entry', async () => {
    const tar = tarBytes([
      { name: 'good.txt', data: 'good' },
      { name: 'bad.txt', data: 'bad' },
    ]);
    tar[1024 + 10] = 0x41;
    const error = await refusal(await archiveFile(gzipSync(tar)));
    expect(error.message).toContain('a corrupt tar header follows "good.txt"');
    const notTar = await refusal(await archiveFile(gzipSync(Buffer.alloc(2048, 0x41))));
    expect(notTar.message).toContain('not a tar archive');
  });

  it('honours pax and GNU long names and drops set-id bits when extracting', async () => {
    const longName = `${'n'.repeat(150)}.txt`;
    const file = await archiveFile(
      tarGz([
        paxHeader({ path: `pax/${longName}` }),
        { name: 'ignored-by-pax', data: 'pax\n' },
        gnuLongHeader(`gnu/${longName}`),
        { name: 'ignored-by-gnu', data: 'gnu\n' },
        { name: 'setuid', data: '#!/bin/sh\n', mode: 0o4755 },
        { prefix: 'with', name: 'prefix.txt', data: 'prefix\n' },
        { name: './', type: '5', mode: 0o755 },
      ]),
    );
    const target = path.join(workDir, 'long-names');
    await extractArchive(file, target);
    expect(await readFile(path.join(target, 'pax', longName), 'utf8')).toBe('pax\n');
    expect(await readFile(path.join(target, 'gnu', longName), 'utf8')).toBe('gnu\n');
    expect(await readFile(path.join(target, 'with/prefix.txt'), 'utf8')).toBe('prefix\n');
    expect((await stat(path.join(target, 'setuid'))).mode & 0o7777).toBe(0o755);
    await expect(lstat(path.join(target, 'ignored-by-pax'))).rejects.toThrow('ENOENT');
    const [ours, gnu] = await namesBothWays(file);
    expect(ours).toEqual(gnu);
  });

  it('extracts nothing from an archive it refuses', async () => {
    const file = await archiveFile(
      tarGz([
        { name: 'fine.txt', data: 'fine' },
        { name: 'late-escape', type: '2', linkname: '../..' },
      ]),
    );
    const target = path.join(workDir, 'refused');
    await expect(extractArchive(file, target)).rejects.toThrow('late-escape');
    await expect(lstat(target)).rejects.toThrow('ENOENT');
  });
});
