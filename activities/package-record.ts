import { FailureType, RelguardError, type PackageRecord } from '../domain';
import type { Repositories } from './db';

/**
 * Records a stored package as its version's one package. A version has one package for good:
 * when another build or upload recorded it first, the same bytes get that record, and other
 * bytes are a Conflict that names the version and both digests (nothing is replaced).
 */
export async function recordPackage(
  record: Omit<PackageRecord, 'id'>,
  packages: Repositories['packages'],
): Promise<PackageRecord> {
  try {
    return await packages.create(record);
  } catch (error) {
    if (!(error instanceof RelguardError) || error.type !== FailureType.Conflict) throw error;
    const winner = await packages.findByVersion(record.app_id, record.version);
    if (winner === undefined) throw error;
    if (sameBytes(winner, record)) return winner;
    throw differentPackage(winner, record);
  }
}

/** Whether two packages are the same archive: by SHA-256, or MD5 and size for an older record. */
export function sameBytes(
  stored: Pick<PackageRecord, 'md5' | 'sha256' | 'size'>,
  other: Pick<PackageRecord, 'md5' | 'sha256' | 'size'>,
): boolean {
  if (stored.sha256 !== undefined && other.sha256 !== undefined) {
    return stored.sha256 === other.sha256 && stored.size === other.size;
  }
  return stored.md5 === other.md5 && stored.size === other.size;
}

/** The refusal of a second, different package of a version that has one. */
export function differentPackage(
  stored: Pick<PackageRecord, 'app_name' | 'version' | 'md5' | 'sha256' | 'size'>,
  other: Pick<PackageRecord, 'md5' | 'sha256' | 'size'>,
): RelguardError {
  return new RelguardError(
    FailureType.Conflict,
    `${stored.app_name} ${stored.version} has a package already (${digestsText(stored)}) and this one has other bytes (${digestsText(other)}): a version's package is never replaced; the stored one stays, tag a new version to ship other bytes`,
    {
      version: stored.version,
      stored: { sha256: stored.sha256, md5: stored.md5, size: stored.size },
      refused: { sha256: other.sha256, md5: other.md5, size: other.size },
    },
  );
}

function digestsText(pkg: Pick<PackageRecord, 'md5' | 'sha256' | 'size'>): string {
  const sha = pkg.sha256 === undefined ? 'no SHA-256 recorded' : `SHA-256 ${pkg.sha256}`;
  return `${sha}, MD5 ${pkg.md5}, ${pkg.size} bytes`;
}
