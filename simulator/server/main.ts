/**
 * Entry point of the `icsim` server process (started by the launcher
 * simulator/bin/icsim.js, which PicJS spawns with `--port-file <path> [--ttl <secs>]`).
 * The REST adapter is imported only once the server listens; the simulator core
 * loads in the instance workers (`instance-worker.ts`), never on this thread.
 */
import { processLogs, runCli } from './cli.ts';

await runCli(
  process.argv.slice(2),
  {
    // Beside this file: `.ts` in a checkout, `.js` in the built package.
    workerUrl: new URL(
      import.meta.url.endsWith('.ts') ? './instance-worker.ts' : './instance-worker.js',
      import.meta.url,
    ),
    loadServer: async () => (await import('./server.ts')).createIcsimServer,
  },
  processLogs,
);
