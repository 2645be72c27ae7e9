/**
 * Reading PicJS's call failures: for a rejected `updateCall` / `queryCall` (and
 * the management helpers built on them) PicJS throws
 * `Error("Canister call failed: <msg>. Reject code: <RejectCode>. Error code: <ErrorCode>. Certified: <bool>")`
 * (picjs-protocol.md §5).
 */
import { expect } from 'vitest';

export interface CallFailure {
  message: string;
  rejectCode: string;
  errorCode: string;
  certified: boolean;
}

const PATTERN =
  /^Canister call failed: ([\s\S]*)\. Reject code: (\w+)\. Error code: (\w+)\. Certified: (true|false)$/;

export function parseCallFailure(error: unknown): CallFailure | undefined {
  const text = error instanceof Error ? error.message : String(error);
  const m = PATTERN.exec(text);
  if (!m) return undefined;
  return { message: m[1]!, rejectCode: m[2]!, errorCode: m[3]!, certified: m[4] === 'true' };
}

export interface ExpectedFailure {
  rejectCode: string;
  errorCode: string;
  /** Substrings or patterns the reject message must contain. */
  message?: (string | RegExp)[] | string | RegExp;
}

/** Awaits `call`, which must fail with these codes; returns the failure for further checks. */
export async function expectCallFailure(
  call: Promise<unknown>,
  expected: ExpectedFailure,
): Promise<CallFailure> {
  let thrown: unknown;
  try {
    const value = await call;
    expect.fail(
      `expected the call to fail with ${expected.rejectCode}/${expected.errorCode}, it returned ${String(value)}`,
    );
  } catch (e) {
    thrown = e;
  }
  const failure = parseCallFailure(thrown);
  expect(failure, `not a PicJS call failure: ${String(thrown)}`).toBeDefined();
  expect({ rejectCode: failure!.rejectCode, errorCode: failure!.errorCode }, failure!.message).toEqual({
    rejectCode: expected.rejectCode,
    errorCode: expected.errorCode,
  });
  const parts =
    expected.message === undefined
      ? []
      : Array.isArray(expected.message)
        ? expected.message
        : [expected.message];
  for (const part of parts) {
    if (typeof part === 'string') expect(failure!.message).toContain(part);
    else expect(failure!.message).toMatch(part);
  }
  return failure!;
}
