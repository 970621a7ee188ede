import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Application } from '../domain';

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

/**
 * Writes `<dir>/<app>.json` for Prometheus' file service discovery, so that a machine is
 * scraped with its new version from the moment it runs it, and not after it is gone. The file
 * is written whole and renamed: Prometheus never reads half of it.
 */
export async function writeTargets(
  dir: string,
  app: Pick<Application, 'name' | 'machines'>,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${app.name}.json`);
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(targetGroups(app), null, 2)}\n`);
  await rename(temporary, file);
}
