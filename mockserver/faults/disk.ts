import { rmSync } from 'node:fs';
import { mkdir, open, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { defineFault } from './define';

const chunk = Buffer.alloc(1024 * 1024, 0xa5);

// Files of disk faults still active; a crash fault or any other process.exit must not leave
// them behind to fill the disk after the process is gone.
const liveFiles = new Set<string>();
process.once('exit', () => {
  for (const file of liveFiles) rmSync(file, { force: true });
});

/** Fills `mb` of disk with one file in the mockserver's own folder and deletes it at the end. */
export const diskFault = defineFault({
  type: 'disk',
  schema: (limits) =>
    z.strictObject({
      mb: z.number().int().min(1).max(limits.diskMb),
    }),
  cost: (params) => ({ diskMb: params.mb }),
  start: (params, context) => {
    const filePath = path.join(context.diskDir, `${context.id}.bin`);
    let writtenMb = 0;
    let stopping = false;
    liveFiles.add(filePath);

    // Chunked async writes keep the event loop serving requests while the disk fills.
    const writing = (async () => {
      await mkdir(context.diskDir, { recursive: true });
      const file = await open(filePath, 'w');
      try {
        while (writtenMb < params.mb && !stopping) {
          await file.write(chunk);
          writtenMb += 1;
        }
        await file.sync();
      } finally {
        await file.close();
      }
    })().catch((error: unknown) => {
      context.logger.error({ err: error, filePath }, 'disk fault could not write');
    });

    return {
      status: () => ({ written_mb: writtenMb, file: filePath }),
      async stop() {
        stopping = true;
        await writing;
        await rm(filePath, { force: true });
        liveFiles.delete(filePath);
        // Other disk faults may still own files here; the folder goes with the last one.
        await rmdir(context.diskDir).catch(() => undefined);
      },
    };
  },
});
