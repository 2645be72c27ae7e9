/**
 * What the REST adapter needs from the simulator core: the `Instance` class of
 * `simulator/instance.ts`, a way to create one, and where logs go.
 */
import type { Instance } from '../instance.ts';
import type { InstanceConfig } from '../types.ts';

/** The adapter works on the core's own `Instance` class. */
export type SimInstance = Instance;

/** Creates an instance; throws `InstanceError` on a config the core rejects. */
export type InstanceFactory = (config: InstanceConfig) => SimInstance;

/** Where the server writes its logs: runtime logs to stdout, canister logs (debug_print) to stderr. */
export interface ServerLogs {
  runtime(line: string): void;
  canister(line: string): void;
}
