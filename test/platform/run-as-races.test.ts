import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { linkSync } from 'node:fs';
import {
  chmod,
  chown,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../activities/logger';
import { buildPackage, type BuildOptions } from '../../activities/package-build';
import { resolveCommandUser, type CommandUser } from '../../activities/platform/command-env';
import { LocalPlatform, markersFolder } from '../../activities/platform/local';
import type { MachineTarget } from '../../activities/platform/types';
import {
  appRuntime,
  askVersion,
  buildAppPackage,
  describeFile,
  machineOnFreePort,
  startPackageServer,
  type BuiltPackage,
  type PackageServer,
} from './fixtures';

/**
 * Races a process of the RELGUARD_RUN_AS user runs against the worker (root): swapping the
 * artifact folder for a link to root's files while it is packed, planting a link where root
 * writes a release marker, rewriting a marker to skip a download. Most need root, as
 * RELGUARD_RUN_AS does; the sweep of a build's leftover processes is checked as any user.
 */
const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const secret = 'root_only_secret_content_42';

let root: string;
let repo: string;

async function git(...args: string[]): Promise<void> {
  await run(
    'git',
    ['-c', 'user.name=t', '-c', 'user.email=t@relguard.invalid', '-c', 'commit.gpgsign=false']
      .concat(['-c', 'tag.gpgsign=false'])
      .concat(args),
    { cwd: repo },
  );
}

/** The pids of live (not zombie) processes whose command line holds `token`. */
async function processesWith(token: string): Promise<number[]> {
  const found: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^[0-9]+$/.test(name) || Number(name) === process.pid) continue;
    const cmdline = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(token)) found.push(Number(name));
  }
  return found;
}

/** Ends a build_cmd once the child it started in a session of its own runs. */
const waitStarted = 'for i in $(seq 500); do [ -e .started ] && break; sleep 0.01; done';

let buildCount = 0;
async function build(
  buildCmd: string,
  options: BuildOptions,
): Promise<{ unpacked?: string; error?: Error; workDir: string }> {
  buildCount += 1;
  const workDir = path.join(root, `build-${buildCount}`);
  try {
    const built = await buildPackage(
      { appName: 'race', repo, version: 'v1.0.0', workDir, buildCmd, artifactPath: 'out' },
      options,
    );
    const unpacked = path.join(root, `unpacked-${buildCount}`);
    await mkdir(unpacked);
    await run('tar', ['-xzf', built.filePath, '-C', unpacked]);
    return { unpacked, workDir };
  } catch (error) {
    return { error: error as Error, workDir };
  }
}

/** Every file's content under `dir`, symbolic links not followed. */
async function allContent(dir: string): Promise<string> {
  let text = '';
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) text += await readFile(path.join(entry.parentPath, entry.name), 'utf8');
  }
  return text;
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'relguard-run-as-races-'));
  await chmod(root, 0o755);
  repo = path.join(root, 'repo');
  await mkdir(repo);
  await git('init', '--quiet', '--initial-branch=main');
  await writeFile(path.join(repo, 'app.js'), 'console.log("hi");\n');
  await git('add', '.');
  await git('commit', '--quiet', '-m', 'first');
  await git('tag', 'v1.0.0');
});

afterAll(async () => {
  // What a build left, should a test fail: ended so that it does not outlive the run.
  for (const token of [`leftover-${process.pid}-`, `swapper-${process.pid}-`]) {
    for (const pid of await processesWith(token)) {
      try {
        // The leftover leads a session and a group of its own: its children go with it.
        process.kill(-pid, 'SIGKILL');
      } catch {
        // Gone meanwhile.
      }
    }
  }
  await rm(root, { recursive: true, force: true });
});

describe('a build', () => {
  it('leaves no process behind, even one that left its session with setsid', async () => {
    const token = `leftover-${process.pid}-a`;
    const result = await build(
      `mkdir -p out && echo made > out/made.txt && (setsid sh -c 'touch .started; sleep 600; :' ${token} >/dev/null 2>&1 &) && ${waitStarted}`,
      {},
    );
    expect(result.error).toBeUndefined();
    expect(await processesWith(token)).toEqual([]);
  });
});

if (isRoot) {
  describe('as root, with RELGUARD_RUN_AS=nobody', () => {
    let nobody: CommandUser;
    let secretDir: string;
    let secretFile: string;

    beforeAll(async () => {
      nobody = resolveCommandUser('nobody')!;
      // Root's own: a folder only root may enter, a file only root may read.
      secretDir = path.join(root, 'root-only');
      await mkdir(secretDir, { mode: 0o700 });
      secretFile = path.join(secretDir, 'data.txt');
      await writeFile(secretFile, `${secret}\n`, { mode: 0o600 });
    });

    it('never packs root-only files through a leftover that swaps the artifact for a link', async () => {
      // The build leaves a process in a session of its own that keeps replacing out/ with a
      // link to root's folder, which holds a file of the same name as one in out/.
      for (let attempt = 0; attempt < 4; attempt += 1) {
        const token = `swapper-${process.pid}-${attempt}`;
        const swap = `touch .started; while :; do mv out out.real && ln -s ${secretDir} out; rm -f out; mv out.real out; done`;
        const result = await build(
          `mkdir -p out && echo public > out/data.txt && (setsid sh -c '${swap}' ${token} >/dev/null 2>&1 &) && ${waitStarted}`,
          { commands: { user: nobody } },
        );
        // Refused (the link was caught, or the folder was missing) or packed: never root's file.
        if (result.unpacked !== undefined) {
          expect(await allContent(result.unpacked)).not.toContain(secret);
        } else {
          expect(result.error?.message ?? '').not.toContain(secret);
        }
        expect(await processesWith(token)).toEqual([]);
      }
    });

    it('packs as the command user: a root-only file in the folder at packing time is refused', async () => {
      // Stands for the swap landing between relguard's check and tar: root's file reachable
      // in the artifact folder when tar reads it. Planted by the test, as root, right then.
      const result = await build('mkdir -p out && echo public > out/public.txt', {
        commands: { user: nobody },
        onProgress: (step) => {
          if (step === 'package') {
            linkSync(secretFile, path.join(root, `build-${buildCount}`, 'src', 'out', 'x.txt'));
          }
        },
      });
      expect(result.unpacked).toBeUndefined();
      expect(result.error?.message).toMatch(
        /packing "out" as user nobody \(RELGUARD_RUN_AS\) failed \(exit code 2\):[\s\S]*x\.txt: Cannot open: Permission denied/,
      );
      expect(result.error?.message).not.toContain(secret);
      // tar wrote into the worker's own file, not one of the command user's.
      expect((await stat(path.join(result.workDir, 'race-v1.0.0.tar.gz'))).uid).toBe(0);
    });

    describe('release markers', () => {
      let server: PackageServer;
      let platform: LocalPlatform;
      const targets: MachineTarget[] = [];

      /** A package of version 1.0.0 with `files` more files: bytes of its own. */
      async function appPackage(name: string, files: number): Promise<BuiltPackage> {
        const dir = path.join(root, `pkg-${name}`);
        await buildAppPackage(dir, '1.0.0');
        const source = path.join(dir, 'app-1.0.0');
        await writeFile(path.join(source, 'NAME'), `${name}\n`);
        await mkdir(path.join(source, 'filler'));
        for (let i = 0; i < files; i += 1) {
          await writeFile(path.join(source, 'filler', `f${i}.txt`), `${i}\n`);
        }
        const file = path.join(dir, `${name}.tar.gz`);
        await run('tar', ['-czf', file, '-C', source, '.']);
        return await describeFile('1.0.0', file);
      }

      async function newTarget(id: string): Promise<MachineTarget> {
        const target = {
          app: appRuntime(path.join(root, 'deploy'), { name: 'race' }),
          machine: await machineOnFreePort(id),
        };
        targets.push(target);
        return target;
      }

      beforeAll(async () => {
        server = await startPackageServer();
        platform = new LocalPlatform({
          releasesKept: 3,
          logger: createLogger('test', 'silent'),
          killGraceMs: 2000,
          commands: { user: nobody },
        });
        await mkdir(path.join(root, 'deploy'), { mode: 0o755 });
      });
      afterAll(async () => {
        for (const target of targets) await platform.stop(target).catch(() => undefined);
        await server?.close();
      });

      it('root never writes through a link the command user plants at the marker path', async () => {
        const victim = path.join(root, 'victim.txt');
        await writeFile(victim, 'root keeps this\n', { mode: 0o644 });
        const target = await newTarget('m1');
        const pkg = await appPackage('planted', 3000);
        const releases = path.join(root, 'deploy', 'm1', 'releases');
        await mkdir(releases, { recursive: true });
        // A process of the command user watches for the release being unpacked and plants a
        // link where the marker goes as soon as the folder is handed over.
        const plant = `while :; do for d in ${releases}/*.tmp-*; do [ -d "$d" ] && ln -s ${victim} "$d/.relguard-package.json" 2>/dev/null; done; done`;
        const planter: ChildProcess = spawn('sh', ['-c', plant], {
          uid: nobody.uid,
          gid: nobody.gid,
          stdio: 'ignore',
          detached: true,
        });
        try {
          await platform.deploy(target, server.ref(pkg));
        } finally {
          process.kill(-planter.pid!, 'SIGKILL');
        }
        expect(await readFile(victim, 'utf8')).toBe('root keeps this\n');
        expect((await askVersion(target.machine)).version).toBe('1.0.0');
        const marker = path.join(root, 'deploy', 'm1', markersFolder, '1.0.0.json');
        const info = await stat(marker);
        expect(info.uid).toBe(0);
        expect(info.mode & 0o777).toBe(0o644);
        expect((JSON.parse(await readFile(marker, 'utf8')) as { md5: string }).md5).toBe(pkg.md5);
      });

      it('a marker the command user rewrites, or could have, is not trusted: the package is downloaded', async () => {
        const first = await appPackage('first', 1);
        const second = await appPackage('second', 2);
        const target = await newTarget('m2');
        await platform.deploy(target, server.ref(first));
        const machineDir = path.join(root, 'deploy', 'm2');
        const release = path.join(machineDir, 'releases', '1.0.0');

        // The command user owns the release folder: it writes there a marker describing the
        // second package, whose download it would spare.
        const forged = JSON.stringify({
          version: '1.0.0',
          md5: second.md5,
          sha256: second.sha256,
          size: second.size,
        });
        const asNobody = (script: string) =>
          run('sh', ['-c', script], { uid: nobody.uid, gid: nobody.gid });
        await asNobody(
          `rm -f ${release}/.relguard-package.json && printf '%s' '${forged}' > ${release}/.relguard-package.json`,
        );

        // Stopped, so that the deploy does not find 1.0.0 running and healthy and stop there.
        await platform.stop(target);
        await platform.deploy(target, server.ref(second));
        expect(server.downloads(second)).toBe(1);
        expect(await readFile(path.join(release, 'NAME'), 'utf8')).toBe('second\n');
        // relguard's own marker is out of its reach.
        await expect(
          asNobody(`printf '%s' '${forged}' > ${machineDir}/${markersFolder}/1.0.0.json`),
        ).rejects.toThrow(/Permission denied/);

        // A marker of relguard's folder that is not the worker's own is not trusted either.
        const marker = path.join(machineDir, markersFolder, '1.0.0.json');
        await chown(marker, nobody.uid, nobody.gid);
        await platform.stop(target);
        await platform.deploy(target, server.ref(second));
        expect(server.downloads(second)).toBe(2);
        expect((await stat(marker)).uid).toBe(0);
        // Its own marker spares the download.
        await platform.stop(target);
        await platform.deploy(target, server.ref(second));
        expect(server.downloads(second)).toBe(2);
      });
    });
  });
}
