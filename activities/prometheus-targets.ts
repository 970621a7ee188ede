import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Application } from '../domain';
import { KeyedLock } from './platform/keyed-lock';

/** One file-SD target group: Prometheus scrapes `targets` and adds `labels` to their series. */
export interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

/** The target groups of an application: every machine that runs a version, labelled with it. */
export function targetGroups(app: Pick<Application, 'name' | 'machines'>): TargetGroup[] {
  return app.machines
    .filter((machine) => machine.version !== '')
    .map((machine) => ({
      targets: [`${machine.host}:${machine.port}`],
      labels: { ...machine.labels, app: app.name, version: machine.version, instance: machine.id },
    }));
}

const fileLock = new KeyedLock();
/** The updatedTime of the application each file was last written from, in this process. */
const writtenFrom = new Map<string, number>();

/**
 * Writes `<dir>/<app>.json` for Prometheus' file service discovery, so that a machine is
 * scraped with its new version from the moment it runs it, and not after it is gone. The file
 * is written whole and renamed: Prometheus never reads half of it. The machines of a batch
 * finish together: their writes of the file run one at a time, each to a temporary file of its
 * own, and an application not newer than the one the file was last written from is skipped, so
 * the file never goes back to a state before a machine's change and is written once per change.
 */
export async function writeTargets(
  dir: string,
  app: Pick<Application, 'name' | 'machines'> & { updatedTime?: number },
): Promise<void> {
  const file = path.join(dir, `${app.name}.json`);
  await fileLock.run(file, async () => {
    const last = writtenFrom.get(file);
    // The machines of one merged write all bring the application as that write left it.
    if (app.updatedTime !== undefined && last !== undefined && app.updatedTime <= last) return;
    await mkdir(dir, { recursive: true });
    // One write of a file at a time in this process (fileLock): the pid makes the name unique.
    const temporary = `${file}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify(targetGroups(app), null, 2)}\n`);
    await rename(temporary, file);
    if (app.updatedTime !== undefined) writtenFrom.set(file, app.updatedTime);
  });
}
