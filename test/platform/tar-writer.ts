import { gzipSync } from 'node:zlib';

/**
 * Writes tar archives byte by byte, for archives the tar CLI refuses to make: absolute paths,
 * "..", links out of the folder, device files, hostile pax and GNU long-name headers.
 */
export interface RawEntry {
  name: string;
  /** The tar type flag: '0' file, '1' hard link, '2' symlink, '3' char device, '5' directory, … */
  type?: string;
  linkname?: string;
  data?: string | Buffer;
  mode?: number;
  /** The ustar prefix field, joined to the name with "/" by readers. */
  prefix?: string;
  /** Written into the size field instead of the data's length. */
  size?: number;
}

function writeString(block: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length) throw new Error(`"${value}" does not fit ${length} bytes`);
  bytes.copy(block, offset);
}

function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  writeString(block, offset, length, value.toString(8).padStart(length - 1, '0') + '\0');
}

export function header(entry: RawEntry): Buffer {
  const data = Buffer.from(entry.data ?? '');
  const block = Buffer.alloc(512);
  writeString(block, 0, 100, entry.name);
  writeOctal(block, 100, 8, entry.mode ?? 0o644);
  writeOctal(block, 108, 8, 0);
  writeOctal(block, 116, 8, 0);
  writeOctal(block, 124, 12, entry.size ?? data.length);
  writeOctal(block, 136, 12, 1_700_000_000);
  block.fill(0x20, 148, 156);
  writeString(block, 156, 1, entry.type ?? '0');
  writeString(block, 157, 100, entry.linkname ?? '');
  writeString(block, 257, 6, 'ustar\0');
  writeString(block, 263, 2, '00');
  writeString(block, 265, 32, 'root');
  writeString(block, 297, 32, 'root');
  writeString(block, 345, 155, entry.prefix ?? '');
  let sum = 0;
  for (const byte of block) sum += byte;
  writeString(block, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return block;
}

function padded(data: Buffer): Buffer {
  const rest = data.length % 512;
  return rest === 0 ? data : Buffer.concat([data, Buffer.alloc(512 - rest)]);
}

/** The tar bytes of the entries, with the two zero blocks that end an archive. */
export function tarBytes(entries: RawEntry[], options: { end?: boolean } = {}): Buffer {
  const parts = entries.flatMap((entry) => [header(entry), padded(Buffer.from(entry.data ?? ''))]);
  if (options.end ?? true) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export const tarGz = (entries: RawEntry[], options: { end?: boolean } = {}): Buffer =>
  gzipSync(tarBytes(entries, options));

function paxRecord(key: string, value: string): string {
  let length = Buffer.byteLength(`${key}=${value}\n`) + 2;
  for (;;) {
    const record = `${length} ${key}=${value}\n`;
    const actual = Buffer.byteLength(record);
    if (actual === length) return record;
    length = actual;
  }
}

/** A pax extended header ('x') that applies `records` to the entry after it. */
export function paxHeader(records: Record<string, string>, type = 'x'): RawEntry {
  const data = Object.entries(records)
    .map(([key, value]) => paxRecord(key, value))
    .join('');
  return { name: 'PaxHeader', type, data };
}

/** A GNU long-name ('L') or long-link ('K') header for the entry after it. */
export function gnuLongHeader(value: string, type: 'L' | 'K' = 'L'): RawEntry {
  return { name: '././@LongLink', type, data: `${value}\0` };
}
