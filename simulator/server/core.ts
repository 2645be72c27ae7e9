/**
 * Where the server writes its runtime logs: stdout, which PicJS shows with
 * `showRuntimeLogs`. Canister logs (debug_print) go to stderr straight from
 * each instance's worker (`instance-worker.ts`), which PicJS shows with
 * `showCanisterLogs`.
 */
export interface ServerLogs {
  runtime(line: string): void;
}
