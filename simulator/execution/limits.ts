/**
 * Instruction limits per kind of execution, as the IC configures them for
 * application subnets, and PocketIC's "Benchmarking" instruction config.
 *
 * Sources (dfinity/ic):
 * - `rs/config/src/subnet_config.rs`: `MAX_INSTRUCTIONS_PER_MESSAGE` (40 B,
 *   updates, heartbeats, global timers, response callbacks),
 *   `MAX_INSTRUCTIONS_PER_QUERY_MESSAGE` (5 B) and
 *   `MAX_INSTRUCTIONS_PER_INSTALL_CODE` (300 B, for the whole install_code:
 *   pre_upgrade, start and init/post_upgrade together);
 * - `rs/config/src/execution_environment.rs`:
 *   `MAX_INSTRUCTIONS_FOR_MESSAGE_ACCEPTANCE_CALLS` (200 M, inspect_message);
 * - PocketIC (`rs/pocket_ic_server/src/pocket_ic.rs`, `SubnetInstructionConfig::Benchmarking`)
 *   sets `max_instructions_per_message` (and per slice / per round) and
 *   `max_query_call_graph_instructions` to 99_999_999_999_999 and leaves the
 *   install_code, query-message and inspect_message limits alone. The
 *   simulator raises the message limit the same way; queries, installs and
 *   inspect_message keep their production limits.
 * - Documented in dfinity/developer-docs `docs/references/resource-limits.md`.
 */
import type { ContextKind } from './context.ts';

/** Updates, heartbeats, global timers, response and cleanup callbacks, replicated queries. */
export const MAX_INSTRUCTIONS_PER_MESSAGE = 40_000_000_000n;
/** Non-replicated (composite) queries and their callbacks, HTTPS outcall transforms. */
export const MAX_INSTRUCTIONS_PER_QUERY_MESSAGE = 5_000_000_000n;
/** One install_code (install, reinstall, or upgrade with pre_upgrade and post_upgrade). */
export const MAX_INSTRUCTIONS_PER_INSTALL_CODE = 300_000_000_000n;
/** `canister_inspect_message`. */
export const MAX_INSTRUCTIONS_FOR_MESSAGE_ACCEPTANCE_CALLS = 200_000_000n;
/** PocketIC's per-message limit under `SubnetInstructionConfig::Benchmarking`. */
export const BENCHMARKING_INSTRUCTION_LIMIT = 99_999_999_999_999n;

export interface InstructionLimits {
  /** Update, heartbeat, global timer, callbacks (and cleanup), replicated query. */
  message: bigint;
  /** Non-replicated query, composite query and its callbacks, transform. */
  query: bigint;
  /** install_code as a whole. */
  install: bigint;
  /** canister_inspect_message. */
  inspectMessage: bigint;
}

export const PRODUCTION_INSTRUCTION_LIMITS: Readonly<InstructionLimits> = Object.freeze({
  message: MAX_INSTRUCTIONS_PER_MESSAGE,
  query: MAX_INSTRUCTIONS_PER_QUERY_MESSAGE,
  install: MAX_INSTRUCTIONS_PER_INSTALL_CODE,
  inspectMessage: MAX_INSTRUCTIONS_FOR_MESSAGE_ACCEPTANCE_CALLS,
});

/** The limits of a subnet with the given instruction config, then `overrides` (e.g. lowered limits for tests). */
export function instructionLimits(
  config: 'Production' | 'Benchmarking' = 'Production',
  overrides: Partial<InstructionLimits> = {},
): InstructionLimits {
  const base = { ...PRODUCTION_INSTRUCTION_LIMITS };
  if (config === 'Benchmarking') base.message = BENCHMARKING_INSTRUCTION_LIMIT;
  for (const [key, value] of Object.entries(overrides) as [keyof InstructionLimits, bigint | undefined][]) {
    if (value !== undefined) base[key] = value;
  }
  return base;
}

/** The limit an execution in context `kind` gets. */
export function limitForContext(
  kind: ContextKind,
  limits: Readonly<InstructionLimits> = PRODUCTION_INSTRUCTION_LIMITS,
): bigint {
  switch (kind) {
    case 'F':
      return limits.inspectMessage;
    case 'NRQ':
    case 'CQ':
    case 'CRy':
    case 'CRt':
    case 'CC':
    case 'TQ':
      return limits.query;
    case 'I':
    case 'G':
    case 's':
      return limits.install;
    default:
      return limits.message;
  }
}
