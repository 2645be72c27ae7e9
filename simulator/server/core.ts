/**
 * Where the server writes its logs: runtime logs to stdout (PicJS's
 * `showRuntimeLogs`), canister logs (debug_print) to stderr (`showCanisterLogs`).
 */
export interface ServerLogs {
  runtime(line: string): void;
  canister(line: string): void;
}
