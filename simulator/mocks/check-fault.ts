/**
 * Validation of a fault before it is armed: a bad fault is refused whole,
 * with the reason, and arms nothing.
 */
import { RejectCode, ErrorCode, rejectCodeOf } from '../errors.ts';
import type { Fault } from '../types.ts';

/** Why `fault` cannot be injected, or undefined when it can. */
export function faultProblem(fault: Fault): string | undefined {
  const times = fault.times ?? 1;
  if (!Number.isSafeInteger(times) || times < 1)
    return `times must be a positive integer, got ${String(times)}`;
  switch (fault.kind) {
    case 'reject':
      if (!Object.hasOwn(RejectCode, fault.rejectCode))
        return `unknown reject code ${String(fault.rejectCode)} (one of ${Object.keys(RejectCode).join(', ')})`;
      if (typeof fault.message !== 'string') return 'message must be a string';
      if (fault.errorCode !== undefined) {
        if (!Object.hasOwn(ErrorCode, fault.errorCode))
          return `unknown error code ${String(fault.errorCode)}`;
        if (rejectCodeOf(fault.errorCode) !== fault.rejectCode)
          return `error code ${fault.errorCode} does not belong to reject code ${fault.rejectCode}`;
      }
      return undefined;
    case 'trap':
      return typeof fault.message === 'string' ? undefined : 'message must be a string';
    case 'delay':
      return Number.isSafeInteger(fault.rounds) && fault.rounds >= 1
        ? undefined
        : `rounds must be a positive integer, got ${String(fault.rounds)}`;
    default:
      return `unknown kind ${String((fault as { kind: unknown }).kind)} (reject, trap or delay)`;
  }
}
