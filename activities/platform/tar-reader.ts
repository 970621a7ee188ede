import { Writable } from 'node:stream';

/**
 * A streaming reader of tar archives (ustar, GNU and pax), written as a Writable so that a
 * gunzip stream pipes into it with backpressure. It only parses: what is safe to extract is
 * archive.ts's business. It is strict where tar implementations differ, so that the archive it
 * approves is the archive GNU tar extracts on an ssh machine.
 */

export type TarEntryType =
  | 'file'
  | 'directory'
  | 'symlink'
  | 'hardlink'
  | 'char-device'
  | 'block-device'
  | 'fifo'
  | 'unsupported';

export interface TarEntry {
  /** The path as the archive names it, after pax and GNU long-name headers are applied. */
  path: string;
  type: TarEntryType;
  /** The raw type flag, for messages about types relguard does not extract. */
  typeFlag: string;
  /** Bytes of content that follow the header (0 for everything but files). */
  size: number;
  mode: number;
  /** Modification time, in seconds since the epoch. */
  mtime: number;
  /** The target of a symlink or hard link; empty for other entries. */
  linkpath: string;
}

export interface TarVisitor {
  entry(entry: TarEntry): void | Promise<void>;
  data?(chunk: Buffer): void | Promise<void>;
  entryEnd?(entry: TarEntry): void | Promise<void>;
}

/** The archive is not a well-formed tar; `entry` names the last entry read, when there is one. */
export class TarFormatError extends Error {
  constructor(
    message: string,
    readonly entry?: string,
  ) {
    super(message);
    this.name = 'TarFormatError';
  }
}

const blockSize = 512;
// Pax and GNU long-name records hold a path or a few attributes; a huge one is an attack.
const maxMetadataBytes = 1024 * 1024;

type State =
  | { kind: 'header' }
  | { kind: 'body'; entry: TarEntry; remaining: number; padding: number }
  | { kind: 'metadata'; typeFlag: string; remaining: number; padding: number; parts: Buffer[] }
  | { kind: 'skip'; remaining: number }
  | { kind: 'ended' };

interface PendingMetadata {
  pax: Map<string, string>;
  longName?: string;
  longLink?: string;
}

const typesByFlag: Record<string, TarEntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char-device',
  '4': 'block-device',
  '5': 'directory',
  '6': 'fifo',
};

const padding = (size: number): number => (blockSize - (size % blockSize)) % blockSize;

function cString(buffer: Buffer, start: number, length: number): string {
  const field = buffer.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? field.length : end).toString('utf8');
}

/** A numeric header field: octal text, or GNU's base-256 for values octal cannot hold. */
function numberField(header: Buffer, start: number, length: number, name: string): number {
  const field = header.subarray(start, start + length);
  const first = field[0] ?? 0;
  if (first & 0x80) {
    if (first & 0x40) throw new TarFormatError(`negative ${name} in a tar header`);
    let value = first & 0x3f;
    for (const byte of field.subarray(1)) {
      value = value * 256 + byte;
      if (!Number.isSafeInteger(value)) throw new TarFormatError(`${name} too large`);
    }
    return value;
  }
  const text = field
    .toString('latin1')
    .replace(/[\0 ]+$/, '')
    .replace(/^ +/, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) {
    throw new TarFormatError(`invalid ${name} "${text}" in a tar header`);
  }
  return parseInt(text, 8);
}

function checksumMatches(header: Buffer): boolean {
  let recorded: number;
  try {
    recorded = numberField(header, 148, 8, 'checksum');
  } catch {
    return false;
  }
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < blockSize; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : header[i]!;
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  // Some old writers summed signed bytes; GNU tar accepts both, and so do we.
  return recorded === unsigned || recorded === signed;
}

/** Pax extended header records: "<length> <key>=<value>\n", length counting the whole record. */
function parsePaxRecords(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let position = 0;
  while (position < data.length) {
    if (data[position] === 0) break;
    const space = data.indexOf(0x20, position);
    const lengthText = space === -1 ? '' : data.toString('latin1', position, space);
    const length = /^[0-9]+$/.test(lengthText) ? parseInt(lengthText, 10) : NaN;
    if (!(length > space - position + 1) || position + length > data.length) {
      throw new TarFormatError('malformed pax extended header');
    }
    const record = data.subarray(space + 1, position + length);
    if (record[record.length - 1] !== 0x0a) {
      throw new TarFormatError('malformed pax extended header record');
    }
    const text = record.subarray(0, record.length - 1).toString('utf8');
    const equals = text.indexOf('=');
    if (equals <= 0) throw new TarFormatError('malformed pax extended header record');
    records.set(text.slice(0, equals), text.slice(equals + 1));
    position += length;
  }
  return records;
}

export class TarReader extends Writable {
  private pending: Buffer = Buffer.alloc(0);
  private state: State = { kind: 'header' };
  private metadata: PendingMetadata = { pax: new Map() };
  private lastEntry: string | undefined;

  constructor(private readonly visitor: TarVisitor) {
    super();
  }

  /** The path of the last entry whose header was read, for messages about what follows it. */
  get lastEntryPath(): string | undefined {
    return this.lastEntry;
  }

  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    this.consume().then(
      () => callback(),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
    );
  }

  override _final(callback: (error?: Error | null) => void): void {
    const state = this.state;
    if (state.kind === 'ended') {
      callback();
      return;
    }
    const where =
      state.kind === 'body'
        ? `inside "${state.entry.path}"`
        : this.lastEntry === undefined
          ? 'before its first entry'
          : `after "${this.lastEntry}"`;
    // A complete archive ends with zero blocks; without them it may have lost whole entries.
    callback(new TarFormatError(`the tar archive is truncated ${where}`, this.lastEntry));
  }

  private async consume(): Promise<void> {
    for (;;) {
      const state = this.state;
      switch (state.kind) {
        case 'ended':
          this.pending = Buffer.alloc(0);
          return;
        case 'header': {
          if (this.pending.length < blockSize) return;
          const header = this.pending.subarray(0, blockSize);
          this.pending = this.pending.subarray(blockSize);
          await this.readHeader(header);
          break;
        }
        case 'body': {
          if (state.remaining > 0) {
            if (this.pending.length === 0) return;
            const take = Math.min(state.remaining, this.pending.length);
            const chunk = this.pending.subarray(0, take);
            this.pending = this.pending.subarray(take);
            state.remaining -= take;
            await this.visitor.data?.(chunk);
          }
          if (state.remaining === 0) {
            await this.visitor.entryEnd?.(state.entry);
            this.state = { kind: 'skip', remaining: state.padding };
          }
          break;
        }
        case 'metadata': {
          if (state.remaining > 0) {
            if (this.pending.length === 0) return;
            const take = Math.min(state.remaining, this.pending.length);
            state.parts.push(Buffer.from(this.pending.subarray(0, take)));
            this.pending = this.pending.subarray(take);
            state.remaining -= take;
          }
          if (state.remaining === 0) {
            this.applyMetadata(state.typeFlag, Buffer.concat(state.parts));
            this.state = { kind: 'skip', remaining: state.padding };
          }
          break;
        }
        case 'skip': {
          const take = Math.min(state.remaining, this.pending.length);
          this.pending = this.pending.subarray(take);
          state.remaining -= take;
          if (state.remaining > 0) return;
          this.state = { kind: 'header' };
          break;
        }
      }
    }
  }

  private async readHeader(header: Buffer): Promise<void> {
    if (header.every((byte) => byte === 0)) {
      // The end-of-archive marker; whatever follows (the second zero block, the record padding)
      // is not read, as GNU tar does not read it either.
      this.state = { kind: 'ended' };
      return;
    }
    if (!checksumMatches(header)) {
      throw new TarFormatError(
        this.lastEntry === undefined
          ? 'not a tar archive (the first header has a bad checksum)'
          : `a corrupt tar header follows "${this.lastEntry}" (bad checksum)`,
        this.lastEntry,
      );
    }
    const typeFlag = String.fromCharCode(header[156]!);
    const size = numberField(header, 124, 12, 'size');

    if (typeFlag === 'x' || typeFlag === 'g' || typeFlag === 'L' || typeFlag === 'K') {
      if (size > maxMetadataBytes) {
        throw new TarFormatError(`a tar metadata header of ${size} bytes is too large`);
      }
      this.state = {
        kind: 'metadata',
        typeFlag,
        remaining: size,
        padding: padding(size),
        parts: [],
      };
      return;
    }

    const entry = this.entryOf(header, typeFlag, size);
    this.metadata = { pax: new Map() };
    this.lastEntry = entry.path;
    if (entry.type !== 'file' && entry.size !== 0) {
      // Tar implementations disagree on whether such data is content or padding; refuse both.
      throw new TarFormatError(
        `"${entry.path}" is a ${entry.type} with ${entry.size} bytes of data`,
        entry.path,
      );
    }
    await this.visitor.entry(entry);
    this.state = { kind: 'body', entry, remaining: entry.size, padding: padding(entry.size) };
  }

  private entryOf(header: Buffer, typeFlag: string, headerSize: number): TarEntry {
    const magic = header.toString('latin1', 257, 263);
    let name = cString(header, 0, 100);
    // Only POSIX ustar has the prefix field; GNU's old format keeps other data there.
    if (magic === 'ustar\0') {
      const prefix = cString(header, 345, 155);
      if (prefix !== '') name = `${prefix}/${name}`;
    }
    const { pax, longName, longLink } = this.metadata;
    const path = pax.get('path') ?? longName ?? name;
    const linkpath = pax.get('linkpath') ?? longLink ?? cString(header, 157, 100);
    const paxSize = pax.get('size');
    let size = headerSize;
    if (paxSize !== undefined) {
      if (!/^[0-9]+$/.test(paxSize)) throw new TarFormatError(`invalid pax size "${paxSize}"`);
      size = Number(paxSize);
    }
    for (const key of pax.keys()) {
      if (key.startsWith('GNU.sparse.')) {
        throw new TarFormatError(
          `"${path}" is a sparse file, which relguard does not extract`,
          path,
        );
      }
    }
    let type: TarEntryType = typesByFlag[typeFlag] ?? 'unsupported';
    // Pre-POSIX archives mark directories only by a trailing slash.
    if (typeFlag === '\0' && path.endsWith('/')) type = 'directory';
    return {
      path,
      type,
      typeFlag: typeFlag === '\0' ? '0' : typeFlag,
      size,
      mode: numberField(header, 100, 8, 'mode'),
      mtime: numberField(header, 136, 12, 'mtime'),
      linkpath: type === 'symlink' || type === 'hardlink' ? linkpath : '',
    };
  }

  private applyMetadata(typeFlag: string, data: Buffer): void {
    switch (typeFlag) {
      case 'x':
        for (const [key, value] of parsePaxRecords(data)) this.metadata.pax.set(key, value);
        break;
      case 'g':
        // A global header that renames entries has no sensible meaning for a package.
        for (const key of parsePaxRecords(data).keys()) {
          if (key === 'path' || key === 'linkpath' || key === 'size') {
            throw new TarFormatError(`a pax global header sets "${key}" for every entry`);
          }
        }
        break;
      case 'L':
        this.metadata.longName = cString(data, 0, data.length);
        break;
      case 'K':
        this.metadata.longLink = cString(data, 0, data.length);
        break;
    }
  }
}
