/**
 * Entry point of the `icsim` server process (started by the launcher
 * simulator/bin/icsim.js, which PicJS spawns with `--port-file <path> [--ttl <secs>]`).
 * The core and the REST adapter are imported only once the server listens.
 */
import { processLogs, runCli } from './cli.ts';

await runCli(
  process.argv.slice(2),
  async () => {
    const [{ Instance }, { createIcsimServer }] = await Promise.all([
      import('../instance.ts'),
      import('./server.ts'),
    ]);
    return {
      // Canister logs (debug_print) go to stderr, which PicJS shows with `showCanisterLogs`;
      // runtime logs go to stdout (`showRuntimeLogs`).
      createInstance: (config) => Instance.create(config, { onCanisterLog: processLogs.canister }),
      createServer: createIcsimServer,
    };
  },
  processLogs,
);
