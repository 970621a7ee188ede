import { createReadStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { chmod, link, mkdir, open, symlink, utimes, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { FailureType, RelguardError } from '../../domain/errors';
import {
  TarFormatError,
  TarReader,
  type TarEntry,
  type TarEntryType,
  type TarVisitor,
} from './tar-reader';

/**
 * What may be in a package: a .tar.gz whose every entry lands inside the release folder.
 * The archive is read twice, once to judge it whole and once to extract it, because a link
 * declared late in an archive can make an entry read earlier unsafe.
 */

export interface ArchiveSummary {
  entries: number;
  /** Bytes of file content once extracted. */
  bytes: number;
}

/**
 * How much a package may unpack to: a gzip bomb (a few kB that inflate to terabytes, or to a
 * million empty files) is refused while the archive is inspected, before anything is written.
 */
export interface ArchiveLimits {
  /** The tar stream once gunzipped, headers and all (ARCHIVE_MAX_UNPACKED_MB). */
  maxUnpackedBytes: number;
  /** Files, folders and links (ARCHIVE_MAX_ENTRIES). */
  maxEntries: number;
}

export const defaultArchiveLimits: ArchiveLimits = {
  maxUnpackedBytes: 4096 * 1024 * 1024,
  maxEntries: 200_000,
};

function tooLarge(limits: ArchiveLimits, entry: string | undefined): RelguardError {
  const where = entry === undefined ? '' : ` (at the entry "${entry}")`;
  return new RelguardError(
    FailureType.BadPackage,
    `the package archive unpacks to more than ${limits.maxUnpackedBytes} bytes${where}, the limit ARCHIVE_MAX_UNPACKED_MB sets; nothing was extracted — make the package smaller or raise the limit`,
    { limit: 'ARCHIVE_MAX_UNPACKED_MB', max_bytes: limits.maxUnpackedBytes, entry },
  );
}

function tooManyEntries(limits: ArchiveLimits, entry: string): RelguardError {
  return new RelguardError(
    FailureType.BadPackage,
    `the package archive holds more than ${limits.maxEntries} entries (the next is "${entry}"), the limit ARCHIVE_MAX_ENTRIES sets; nothing was extracted — make the package smaller or raise the limit`,
    { limit: 'ARCHIVE_MAX_ENTRIES', max_entries: limits.maxEntries, entry },
  );
}

/** Passes the gunzipped stream on, and fails it once it grows past the limit. */
class UnpackedBytesLimit extends Transform {
  private bytes = 0;

  constructor(
    private readonly limits: ArchiveLimits,
    private readonly lastEntry: () => string | undefined,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
    this.bytes += chunk.length;
    if (this.bytes > this.limits.maxUnpackedBytes) {
      callback(tooLarge(this.limits, this.lastEntry()));
      return;
    }
    callback(null, chunk);
  }
}

// Symlink chains longer than Linux's own limit (40) would fail on disk anyway.
const maxSymlinkHops = 40;

function refuse(entry: string, reason: string): RelguardError {
  return new RelguardError(
    FailureType.BadPackage,
    `the package archive entry "${entry}" ${reason}; rebuild the package without it`,
    { entry, reason },
  );
}

/**
 * The entry's path relative to the release folder ('' for the folder itself), or a refusal
 * when it is absolute or climbs out with "..".
 */
export function releaseRelativePath(entryPath: string): string {
  if (entryPath === '') throw refuse(entryPath, 'has an empty name');
  if (entryPath.startsWith('/')) throw refuse(entryPath, 'is an absolute path');
  const segments = entryPath.split('/');
  if (segments.includes('..')) throw refuse(entryPath, 'has a ".." segment');
  return segments.filter((segment) => segment !== '' && segment !== '.').join('/');
}

const refusedTypes: Partial<Record<TarEntryType, string>> = {
  'char-device': 'is a device file',
  'block-device': 'is a device file',
  fifo: 'is a named pipe (FIFO)',
};

/** Judges entries one by one, then as a whole (links need every entry known). */
export class ArchivePolicy {
  private readonly types = new Map<string, TarEntryType>();
  private readonly symlinks = new Map<string, string>();
  private readonly names = new Map<string, string>();

  /** Refuses an unsafe entry; returns its path relative to the release folder. */
  check(entry: TarEntry): string {
    const refusedType = refusedTypes[entry.type];
    if (refusedType !== undefined) throw refuse(entry.path, refusedType);
    if (entry.type === 'unsupported') {
      throw refuse(
        entry.path,
        `has the tar type '${entry.typeFlag}', which relguard does not extract`,
      );
    }
    const relative = releaseRelativePath(entry.path);
    if (relative === '') {
      if (entry.type === 'directory') return relative;
      throw refuse(entry.path, 'names the release folder itself');
    }

    const earlier = this.types.get(relative);
    if (earlier !== undefined) {
      const sameHarmlessType =
        earlier === entry.type && (earlier === 'file' || earlier === 'directory');
      if (!sameHarmlessType) {
        throw refuse(
          entry.path,
          `appears twice in the archive (as a ${earlier} and a ${entry.type})`,
        );
      }
    }

    if (entry.type === 'symlink') {
      if (entry.linkpath === '') throw refuse(entry.path, 'is a symlink with an empty target');
      if (entry.linkpath.startsWith('/')) {
        throw refuse(entry.path, `is a symlink to the absolute path "${entry.linkpath}"`);
      }
      this.symlinks.set(relative, entry.linkpath);
    }
    if (entry.type === 'hardlink') {
      const target = entry.linkpath;
      if (target === '' || target.startsWith('/') || target.split('/').includes('..')) {
        throw refuse(entry.path, `is a hard link to "${target}", outside the release folder`);
      }
      const targetRelative = releaseRelativePath(target);
      if (this.types.get(targetRelative) !== 'file') {
        throw refuse(
          entry.path,
          `is a hard link to "${target}", which is not a file earlier in the archive`,
        );
      }
    }
    this.types.set(relative, entry.type);
    this.names.set(relative, entry.path);
    return relative;
  }

  /** Refuses entries beneath a symlink and symlinks that resolve outside the release folder. */
  finish(): void {
    for (const relative of this.types.keys()) {
      const segments = relative.split('/');
      for (let depth = 1; depth < segments.length; depth++) {
        const parent = segments.slice(0, depth).join('/');
        if (this.symlinks.has(parent)) {
          // Extracting it would write wherever the link points, not into the release folder.
          throw refuse(this.nameOf(relative), `lies beneath the symlink "${this.nameOf(parent)}"`);
        }
        const parentType = this.types.get(parent);
        if (parentType !== undefined && parentType !== 'directory') {
          throw refuse(
            this.nameOf(relative),
            `lies beneath the ${parentType} "${this.nameOf(parent)}"`,
          );
        }
      }
    }
    for (const [relative, target] of this.symlinks) {
      const resolved = this.resolve(relative, target);
      if (resolved === 'loop') throw refuse(this.nameOf(relative), 'is part of a symlink loop');
      if (resolved === 'outside') {
        throw refuse(
          this.nameOf(relative),
          `is a symlink to "${target}", which resolves outside the release folder`,
        );
      }
    }
  }

  private nameOf(relative: string): string {
    return this.names.get(relative) ?? relative;
  }

  /** Follows a symlink through the archive's own links, as the kernel would once extracted. */
  private resolve(linkRelative: string, target: string): 'inside' | 'outside' | 'loop' {
    let hops = 0;
    const walk = (base: string[], linkTarget: string): string[] | 'outside' | 'loop' => {
      if (linkTarget.startsWith('/')) return 'outside';
      const stack = [...base];
      for (const segment of linkTarget.split('/')) {
        if (segment === '' || segment === '.') continue;
        if (segment === '..') {
          if (stack.length === 0) return 'outside';
          stack.pop();
          continue;
        }
        stack.push(segment);
        const next = this.symlinks.get(stack.join('/'));
        if (next === undefined) continue;
        if (++hops > maxSymlinkHops) return 'loop';
        const resolved = walk(stack.slice(0, -1), next);
        if (resolved === 'outside' || resolved === 'loop') return resolved;
        stack.splice(0, stack.length, ...resolved);
      }
      return stack;
    };
    const resolved = walk(linkRelative.split('/').slice(0, -1), target);
    return Array.isArray(resolved) ? 'inside' : resolved;
  }
}

/**
 * Reads the archive through gunzip into the visitor; every format problem is a BadPackage, and
 * so is an archive past the limits: an entry past maxEntries or whose declared size would take
 * the content past maxUnpackedBytes is refused at its header, before the visitor sees it, and
 * the gunzipped stream is cut off as soon as it grows past maxUnpackedBytes.
 */
async function readArchive(
  file: string,
  visitor: TarVisitor,
  options: { signal?: AbortSignal | undefined; limits?: ArchiveLimits | undefined },
): Promise<void> {
  const limits = options.limits ?? defaultArchiveLimits;
  let entries = 0;
  let declaredBytes = 0;
  const reader = new TarReader({
    entry(entry) {
      entries += 1;
      if (entries > limits.maxEntries) throw tooManyEntries(limits, entry.path);
      declaredBytes += entry.size;
      if (declaredBytes > limits.maxUnpackedBytes) throw tooLarge(limits, entry.path);
      return visitor.entry(entry);
    },
    data: (chunk) => visitor.data?.(chunk),
    entryEnd: (entry) => visitor.entryEnd?.(entry),
  });
  const { signal } = options;
  try {
    await pipeline(
      createReadStream(file),
      createGunzip(),
      new UnpackedBytesLimit(limits, () => reader.lastEntryPath),
      reader,
      signal ? { signal } : {},
    );
  } catch (error) {
    if (error instanceof RelguardError) throw error;
    const after =
      reader.lastEntryPath === undefined
        ? ''
        : ` (the last entry read was "${reader.lastEntryPath}")`;
    if (error instanceof TarFormatError) {
      throw new RelguardError(
        FailureType.BadPackage,
        `the package archive is corrupt: ${error.message}; rebuild the package`,
        { entry: error.entry ?? reader.lastEntryPath, reason: error.message },
      );
    }
    if (isZlibError(error)) {
      throw new RelguardError(
        FailureType.BadPackage,
        `the package is not a valid gzip file: ${error.message}${after}; rebuild the package`,
        { entry: reader.lastEntryPath, reason: error.message },
      );
    }
    throw error;
  }
}

function isZlibError(error: unknown): error is Error {
  return (
    error instanceof Error &&
    typeof (error as NodeJS.ErrnoException).code === 'string' &&
    (error as NodeJS.ErrnoException).code!.startsWith('Z_')
  );
}

/**
 * Reads the whole archive and refuses it (BadPackage, naming the entry) when it is corrupt or
 * any entry could land outside the release folder: absolute paths, "..", links that leave,
 * device files, entries beneath a symlink; or when it is past the limits (by default
 * defaultArchiveLimits), naming the limit. Touches nothing but the archive.
 */
export async function inspectArchive(
  file: string,
  options: { signal?: AbortSignal; limits?: ArchiveLimits } = {},
): Promise<ArchiveSummary> {
  const policy = new ArchivePolicy();
  const summary: ArchiveSummary = { entries: 0, bytes: 0 };
  await readArchive(
    file,
    {
      entry(entry) {
        policy.check(entry);
        summary.entries += 1;
        summary.bytes += entry.type === 'file' ? entry.size : 0;
      },
    },
    options,
  );
  policy.finish();
  return summary;
}

/**
 * Inspects the archive, then extracts it into `destination` (created; expected new and empty).
 * Owners are not restored and set-id bits are dropped: a package must not grant privileges.
 */
export async function extractArchive(
  file: string,
  destination: string,
  options: { signal?: AbortSignal; limits?: ArchiveLimits } = {},
): Promise<ArchiveSummary> {
  const summary = await inspectArchive(file, options);
  await mkdir(destination, { recursive: true });
  const directories: { target: string; mode: number; mtime: number }[] = [];
  let writing: { handle: FileHandle; target: string } | undefined;

  const targetOf = (entryPath: string) => {
    const relative = releaseRelativePath(entryPath);
    return relative === '' ? destination : path.join(destination, relative);
  };

  try {
    await readArchive(
      file,
      {
        async entry(entry) {
          const target = targetOf(entry.path);
          if (entry.type === 'directory') {
            await mkdir(target, { recursive: true, mode: 0o700 });
            directories.push({ target, mode: entry.mode & 0o777, mtime: entry.mtime });
            return;
          }
          await mkdir(path.dirname(target), { recursive: true });
          if (entry.type === 'file') {
            writing = { handle: await open(target, 'w', 0o600), target };
          } else if (entry.type === 'symlink') {
            await symlink(entry.linkpath, target);
          } else if (entry.type === 'hardlink') {
            await link(targetOf(entry.linkpath), target);
          }
        },
        async data(chunk) {
          if (writing !== undefined) await writing.handle.write(chunk);
        },
        async entryEnd(entry) {
          if (entry.type !== 'file' || writing === undefined) return;
          const { handle, target } = writing;
          writing = undefined;
          await handle.close();
          await chmod(target, entry.mode & 0o777);
          await utimes(target, entry.mtime, entry.mtime);
        },
      },
      options,
    );
  } finally {
    await writing?.handle.close();
  }
  // Deepest first, so that a read-only folder is closed only after its contents are written.
  const depth = (target: string) => target.split(path.sep).length;
  directories.sort((a, b) => depth(b.target) - depth(a.target));
  for (const { target, mode, mtime } of directories) {
    await chmod(target, mode);
    await utimes(target, mtime, mtime);
  }
  return summary;
}
