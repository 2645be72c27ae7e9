/**
 * Candid for the fuzz suite: values of a given IDL type (so that an argument
 * is well-formed and only its values are unexpected), IDL types of any shape
 * (so that an argument is well-formed Candid of the wrong type), and their
 * encodings.
 */
import { IDL } from '@icp-sdk/core/candid';
import { Principal } from '@icp-sdk/core/principal';
import fc from 'fast-check';
import { text } from './support.ts';

/** Naturals at the edges of what the management canister checks (compute allocation ≤ 100, u64, u128). */
const NATURALS = [
  0n,
  1n,
  100n,
  101n,
  2n ** 32n,
  2n ** 63n,
  2n ** 64n - 1n,
  2n ** 64n,
  2n ** 128n,
  2n ** 200n,
];

const TEXT = text(12);
const METHOD_NAME = text(8);

/** A value of `type`, biased towards `principals` where a principal goes. */
export function candidValue(
  type: IDL.Type,
  principals: readonly Principal[],
  depth = 0,
): fc.Arbitrary<unknown> {
  const principal = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...principals) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 29 }).map((b) => Principal.fromUint8Array(b)) },
  );
  if (type instanceof IDL.RecordClass) {
    if (type instanceof IDL.TupleClass) {
      const components = (type as unknown as { _components: IDL.Type[] })._components;
      return fc.tuple(...components.map((t) => candidValue(t, principals, depth + 1)));
    }
    return fc.record(
      Object.fromEntries(type._fields.map(([name, t]) => [name, candidValue(t, principals, depth + 1)])),
      { noNullPrototype: true },
    );
  }
  if (type instanceof IDL.VariantClass) {
    return fc.oneof(
      ...type._fields.map(([name, t]) => candidValue(t, principals, depth + 1).map((v) => ({ [name]: v }))),
    );
  }
  if (type instanceof IDL.OptClass) {
    return fc.oneof(
      fc.constant([]),
      candidValue(type._type, principals, depth + 1).map((v) => [v]),
    );
  }
  if (type instanceof IDL.VecClass) {
    const element = type._type;
    if (element instanceof IDL.FixedNatClass && element._bits === 8) return fc.uint8Array({ maxLength: 48 });
    // Up to 12: one past the ten controllers the IC allows.
    return fc.array(candidValue(element, principals, depth + 1), { maxLength: depth > 2 ? 2 : 12 });
  }
  if (type instanceof IDL.PrincipalClass) return principal;
  if (type instanceof IDL.NatClass)
    return fc.oneof(fc.constantFrom(...NATURALS), fc.bigInt({ min: 0n, max: 2n ** 70n }));
  if (type instanceof IDL.IntClass) return fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n });
  if (type instanceof IDL.FixedNatClass) {
    const max = 2n ** BigInt(type._bits) - 1n;
    const n = fc.oneof(fc.constantFrom(0n, max), fc.bigInt({ min: 0n, max }));
    return type._bits <= 32 ? n.map(Number) : n;
  }
  if (type instanceof IDL.FixedIntClass) {
    const max = 2n ** BigInt(type._bits - 1) - 1n;
    const n = fc.bigInt({ min: -max - 1n, max });
    return type._bits <= 32 ? n.map(Number) : n;
  }
  if (type instanceof IDL.FloatClass) return fc.double();
  if (type instanceof IDL.TextClass) return TEXT;
  if (type instanceof IDL.BoolClass) return fc.boolean();
  if (type instanceof IDL.NullClass || type instanceof IDL.ReservedClass) return fc.constant(null);
  if (type instanceof IDL.FuncClass) return fc.tuple(principal, METHOD_NAME);
  throw new Error(`no generator for Candid type ${type.display()}`);
}

/** Field names of the management canister's records, so that random records overlap with them. */
const LABELS = [
  'canister_id',
  'settings',
  'controllers',
  'mode',
  'wasm_module',
  'arg',
  'amount',
  'specified_id',
  'chunk',
  'target_canister',
  'sender_canister_version',
  'compute_allocation',
  'install',
  'upgrade',
  'x',
];

const PRIMITIVES: IDL.Type[] = [
  IDL.Null,
  IDL.Bool,
  IDL.Nat,
  IDL.Int,
  IDL.Nat8,
  IDL.Nat64,
  IDL.Int32,
  IDL.Float64,
  IDL.Text,
  IDL.Principal,
  IDL.Reserved,
];

/** IDL types of any shape, shallow, with the management canister's field names. */
export const candidType: fc.Arbitrary<IDL.Type> = fc.letrec<{ type: IDL.Type }>((tie) => ({
  type: fc.oneof(
    { maxDepth: 3 },
    { weight: 3, arbitrary: fc.constantFrom(...PRIMITIVES) },
    { weight: 1, arbitrary: tie('type').map((t) => IDL.Vec(t)) },
    { weight: 1, arbitrary: tie('type').map((t) => IDL.Opt(t)) },
    {
      weight: 2,
      arbitrary: fc
        .dictionary(fc.constantFrom(...LABELS), tie('type'), { maxKeys: 3, noNullPrototype: true })
        .map((fields) => IDL.Record(fields)),
    },
    {
      weight: 1,
      arbitrary: fc
        .dictionary(fc.constantFrom(...LABELS), tie('type'), {
          minKeys: 1,
          maxKeys: 3,
          noNullPrototype: true,
        })
        .map((fields) => IDL.Variant(fields)),
    },
  ),
})).type;

/** Well-formed Candid of arbitrary types: one to two arguments of random types with values of them. */
export function candidOfAnyType(principals: readonly Principal[]): fc.Arbitrary<Uint8Array> {
  return fc
    .array(candidType, { minLength: 0, maxLength: 2 })
    .chain((types) =>
      fc
        .tuple(...types.map((t) => candidValue(t, principals)))
        .map((values) => new Uint8Array(IDL.encode(types, values))),
    );
}
