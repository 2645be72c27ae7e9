/**
 * What bounds one canister's upload throughput on mainnet: the IC's per-round
 * limits (each constant names its source in dfinity/ic) and the projection
 * from a message's instruction count. `bench/README.md` ("Mainnet projection")
 * explains the model.
 */

export const MAINNET = {
  /** `rs/config/src/subnet_config.rs` `MAX_INSTRUCTIONS_PER_MESSAGE`: an update's whole limit, across slices. */
  maxInstructionsPerMessage: 40_000_000_000,
  /**
   * `subnet_config.rs` `MAX_INSTRUCTIONS_PER_SLICE`: with deterministic time slicing (on for
   * application subnets, `rs/config/src/execution_environment.rs` `deterministic_time_slicing`),
   * a message that runs longer pauses after a slice and resumes in the next round.
   */
  maxInstructionsPerSlice: 2_000_000_000,
  /** `subnet_config.rs` `MAX_INSTRUCTIONS_PER_ROUND` (one scheduler thread). */
  maxInstructionsPerRound: 7_000_000_000,
  /** `subnet_config.rs` `INSTRUCTION_OVERHEAD_PER_EXECUTION`: charged to the round for each execution. */
  instructionOverheadPerExecution: 2_000_000,
  /** `rs/limits/src/lib.rs` `MAX_INGRESS_BYTES_PER_MESSAGE_APP_SUBNET` (2 MiB). */
  maxIngressBytesPerMessage: 2 * 1024 * 1024,
  /** `rs/limits/src/lib.rs` `MAX_INGRESS_BYTES_PER_BLOCK` (4 MiB, the whole subnet's ingress per block). */
  maxIngressBytesPerBlock: 4 * 1024 * 1024,
  /** `rs/limits/src/lib.rs` `MAX_INGRESS_MESSAGES_PER_BLOCK`. */
  maxIngressMessagesPerBlock: 1000,
  /**
   * One execution round per finalized block, about one a second: `rs/limits/src/lib.rs`
   * `INGRESS_HISTORY_MAX_MESSAGES` ("assuming a block rate of 1 block per second") and
   * `rs/execution_environment/src/scheduler.rs` `SPAMMY_LOG_INTERVAL_ROUNDS` ("a block rate around 1.0").
   */
  roundsPerSecond: 1,
} as const;

/**
 * The instructions one scheduler thread may start messages with in a round:
 * `max_instructions_per_round - max_instructions_per_slice + 1`, so that a
 * last slice cannot overshoot the round (dfinity/ic `scheduler.rs`, the round's
 * instruction budget; install_code's slice is as long on application subnets).
 */
export const ROUND_BUDGET = MAINNET.maxInstructionsPerRound - MAINNET.maxInstructionsPerSlice + 1;

export interface Projection {
  /** Rounds one message takes (1 when it fits a slice). */
  roundsPerMessage: number;
  /** Messages of this canister completed per round, execution alone. */
  messagesPerRound: number;
  /** Messages per round the block's ingress payload admits (bytes and count limits). */
  ingressMessagesPerRound: number;
  /** Payload bytes per second of upload. */
  bytesPerSecond: number;
}

/**
 * Upload throughput of one canister receiving `chunkBytes` per message, each
 * message executing `instructions`, in an ingress envelope of `envelopeBytes`:
 * - a message over one slice runs one slice per round, and the canister's
 *   next message starts in the round after it completes (`scheduler.rs`
 *   `execute_canisters_on_thread` ends a canister's turn when it finishes a
 *   long execution): ⌈instructions / slice⌉ rounds per message;
 * - messages within a slice run back to back while the round budget lasts,
 *   each also charged the per-execution overhead: ⌈budget / (instructions + overhead)⌉;
 * - the block carries at most 4 MiB and 1000 ingress messages (for the whole subnet: an upper bound).
 */
export function projectUpload(chunkBytes: number, instructions: number, envelopeBytes: number): Projection {
  if (instructions > MAINNET.maxInstructionsPerMessage)
    throw new Error(
      `${instructions} instructions exceed the ${MAINNET.maxInstructionsPerMessage} message limit`,
    );
  if (envelopeBytes > MAINNET.maxIngressBytesPerMessage)
    throw new Error(
      `a ${envelopeBytes}-byte message exceeds the ${MAINNET.maxIngressBytesPerMessage}-byte ingress limit`,
    );
  const roundsPerMessage = Math.max(1, Math.ceil(instructions / MAINNET.maxInstructionsPerSlice));
  const messagesPerRound =
    roundsPerMessage > 1
      ? 1 / roundsPerMessage
      : Math.ceil(ROUND_BUDGET / (instructions + MAINNET.instructionOverheadPerExecution));
  const ingressMessagesPerRound = Math.min(
    MAINNET.maxIngressMessagesPerBlock,
    Math.floor(MAINNET.maxIngressBytesPerBlock / envelopeBytes),
  );
  return {
    roundsPerMessage,
    messagesPerRound,
    ingressMessagesPerRound,
    bytesPerSecond:
      chunkBytes * Math.min(messagesPerRound, ingressMessagesPerRound) * MAINNET.roundsPerSecond,
  };
}
