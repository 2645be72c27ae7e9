/**
 * Candid helpers for mock methods: decode the argument with the method's
 * argument types, encode what the function returns with its result types
 * (`@icp-sdk/core/candid`'s IDL, as agents and PicJS use).
 */
import { IDL } from '@icp-sdk/core/candid';
import type { MockContext, MockMethod } from './types.ts';

/**
 * A mock method speaking Candid. `fn` gets the decoded arguments, then the
 * call's context; it returns the result (the one value for a single result
 * type, an array of values for several, nothing for none). An argument that
 * does not decode traps, as a Candid canister does.
 * @example
 * candidMethod([IDL.Nat], [IDL.Text], async (n: bigint) => `got ${n}`)
 * candidMethod([], [IDL.Nat], (): bigint => 42n, { query: true })
 */
export function candidMethod<F extends (...args: never[]) => unknown>(
  argTypes: IDL.Type[],
  retTypes: IDL.Type[],
  fn: F,
  options: { query?: boolean } = {},
): MockMethod {
  const call = fn as unknown as (...args: unknown[]) => unknown;
  const encode = (value: unknown): Uint8Array =>
    IDL.encode(retTypes, retTypes.length === 1 ? [value] : ((value ?? []) as unknown[]));
  return {
    kind: options.query ? 'query' : 'update',
    handler: (arg: Uint8Array, ctx: MockContext) => {
      const out = call(...IDL.decode(argTypes, arg), ctx);
      return out instanceof Promise ? out.then(encode) : encode(out);
    },
  };
}
