/**
 * Entry point of the `icsim` server process (run by simulator/bin/icsim,
 * which PicJS spawns with `--port-file <path> [--ttl <secs>]`).
 */
import { processLogs, runCli } from './cli.ts';

await runCli(
  process.argv.slice(2),
  async () => {
    const { Instance } = await import('../instance.ts');
    return (config) => {
      const instance = Instance.create(config);
      // LOG HOOK: connect the core's log output here once `Instance` exposes it —
      // canister logs (debug_print) to `processLogs.canister` (stderr, shown by PicJS
      // `showCanisterLogs`), runtime logs to `processLogs.runtime` (stdout, `showRuntimeLogs`).
      return instance;
    };
  },
  processLogs,
);
