/**
 * Candid helpers for mock methods: decode the argument with the method's
 * argument types, encode what the function returns with its result types
 * (`@icp-sdk/core/candid`'s IDL, as agents and PicJS use).
 */
import { IDL } from '@icp-sdk/core/candid';
import type { MockContext, MockMethod } from './types.ts';

/** The values a list of Candid types decodes to. */
export type CandidValues<A extends readonly IDL.Type[]> = {
  [K in keyof A]: A[K] extends IDL.Type<infer T> ? T : never;
};

/** What a Candid mock method returns for result types `R`: nothing, the one value, or a tuple of values. */
export type CandidResult<R extends readonly IDL.Type[]> = R extends readonly []
  ? void
  : R extends readonly [IDL.Type<infer T>]
    ? T
    : CandidValues<R>;

/**
 * A mock method speaking Candid. `fn` gets the decoded arguments, then the
 * call's context; it returns the result (the one value for a single result
 * type, an array of values for several, nothing for none). An argument that
 * does not decode traps, as a Candid canister does. Parameters are typed from
 * the Candid types when left unannotated; annotate them (a record as its
 * interface, say) and any types are accepted.
 * @example
 * candidMethod([IDL.Nat], [IDL.Text], async (n) => `got ${n}`)
 * candidMethod([TransferArg], [TransferResult], async (arg: Transfer, ctx: MockContext) => ({ Ok: 1n }))
 * candidMethod([], [IDL.Nat], () => 42n, { query: true })
 */
export function candidMethod<const A extends readonly IDL.Type[], const R extends readonly IDL.Type[]>(
  argTypes: A,
  retTypes: R,
  fn: (...args: [...CandidValues<A>, MockContext]) => CandidResult<R> | Promise<CandidResult<R>>,
  options?: { query?: boolean },
): MockMethod;
export function candidMethod<F extends (...args: never[]) => unknown>(
  argTypes: readonly IDL.Type[],
  retTypes: readonly IDL.Type[],
  fn: F,
  options?: { query?: boolean },
): MockMethod;
export function candidMethod(
  argTypes: readonly IDL.Type[],
  retTypes: readonly IDL.Type[],
  fn: (...args: never[]) => unknown,
  options: { query?: boolean } = {},
): MockMethod {
  const call = fn as unknown as (...args: unknown[]) => unknown;
  const encode = (value: unknown): Uint8Array =>
    IDL.encode([...retTypes], retTypes.length === 1 ? [value] : ((value ?? []) as unknown[]));
  return {
    kind: options.query ? 'query' : 'update',
    handler: (arg: Uint8Array, ctx: MockContext) => {
      const out = call(...IDL.decode([...argTypes], arg), ctx);
      return out instanceof Promise ? out.then(encode) : encode(out);
    },
  };
}
