/**
 * Entry point of the `icsim` server process (run by simulator/bin/icsim,
 * which PicJS spawns with `--port-file <path> [--ttl <secs>]`).
 */
import { processLogs, runCli } from './cli.ts';

await runCli(
  process.argv.slice(2),
  async () => {
    const { Instance } = await import('../instance.ts');
    // Log hook: canister logs (debug_print) go to stderr, which PicJS shows with
    // `showCanisterLogs`; runtime logs go to stdout (`showRuntimeLogs`) via `processLogs.runtime`.
    return (config) => Instance.create(config, { onCanisterLog: processLogs.canister });
  },
  processLogs,
);
