/**
 * What the REST adapter needs from the simulator core: the `Instance` class of
 * `simulator/instance.ts`, a way to create one, and where logs go.
 */
import type { Instance } from '../instance.ts';
import type { InstanceConfig } from '../types.ts';

/** Creates an instance; throws `InstanceError` on a config the core rejects. */
export type InstanceFactory = (config: InstanceConfig) => Instance;

/** Where the server writes its logs: runtime logs to stdout, canister logs (debug_print) to stderr. */
export interface ServerLogs {
  runtime(line: string): void;
  canister(line: string): void;
}
