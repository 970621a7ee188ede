import { text } from 'node:stream/consumers';
import { runCli } from './run';

// Exit code, not process.exit(): stdout to a pipe may still be flushing.
process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  cwd: process.cwd(),
  io: { stdout: process.stdout, stderr: process.stderr, readStdin: () => text(process.stdin) },
});
