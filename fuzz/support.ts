/**
 * What the fuzz suites share: how many cases a property runs, how a failure
 * is replayed, and the mutations of bytes and of JSON values they apply to
 * valid inputs.
 */
import fc from 'fast-check';
import { expect } from 'vitest';

function positiveInt(text: string | undefined, fallback: number): number {
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`expected a positive integer, got "${text}"`);
  return n;
}

/** Cases per decoder: `FUZZ_RUNS` (10,000 by default, the CI figure). */
export const RUNS = positiveInt(process.env.FUZZ_RUNS, 10_000);

/**
 * Cases that go over real HTTP (a socket and a request each): a tenth of {@link RUNS},
 * at least 200. The decoders behind them run {@link RUNS} cases in process.
 */
export const HTTP_RUNS = Math.max(200, Math.ceil(RUNS / 10));

/**
 * The seed under CI (`CI` set) when `FUZZ_SEED` names none: a CI run must pass or fail on the
 * code, not on the draw, so it explores the same 10,000 cases each time; runs elsewhere draw a
 * new seed and so explore further (`npm run fuzz`, `FUZZ_RUNS=100000 npm run fuzz`).
 */
export const CI_SEED = 20_261_202;

/**
 * fast-check parameters. A failure prints its seed and path; `FUZZ_SEED` and
 * `FUZZ_PATH` replay exactly that case (and shrink no further than it).
 */
export function params<T>(numRuns = RUNS): fc.Parameters<T> {
  const seed = process.env.FUZZ_SEED || (process.env.CI ? String(CI_SEED) : undefined);
  const path = process.env.FUZZ_PATH;
  return {
    numRuns,
    ...(seed ? { seed: Number(seed) } : {}),
    ...(path ? { path, endOnFailure: true } : {}),
  };
}

/**
 * A property for a synchronous predicate that yields to the event loop every 200 cases. A Vitest
 * worker that runs synchronous code for a minute misses its RPC deadline ("Timeout calling
 * onTaskUpdate"), which a large `FUZZ_RUNS` or a loaded machine reaches. Use with `await fc.assert`.
 */
export function yielding<T>(arbitrary: fc.Arbitrary<T>, predicate: (value: T) => void) {
  let n = 0;
  return fc.asyncProperty(arbitrary, async (value) => {
    if (++n % 200 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    predicate(value);
  });
}

/**
 * Counts the outcomes of a property's cases. `expectEach` then asserts that every outcome
 * occurred (except in a replay or a run too short to tell): a generator that never reaches one
 * of them would test nothing there, and the property would pass whatever the code does.
 */
export function outcomes<K extends string>(...names: K[]) {
  const seen = Object.fromEntries(names.map((n) => [n, 0])) as Record<K, number>;
  return {
    seen,
    expectEach(numRuns = RUNS): void {
      if (numRuns < 100 || process.env.FUZZ_PATH) return;
      for (const n of names) expect(seen[n], `cases that ended ${n}`).toBeGreaterThan(0);
    },
  };
}

// ---- text ----------------------------------------------------------------------------------

/**
 * Characters: printable ASCII mostly, and the code points that test encoders (quote, backslash,
 * controls, the edges of the BMP, lone surrogates, the last code point). Not fast-check's
 * `unit: 'binary'`, whose construction builds a table of every code point (about 2 s each).
 */
const CHAR = fc
  .oneof(
    { weight: 4, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        0,
        0x0a,
        0x22,
        0x5c,
        0x7f,
        0x80,
        0xff,
        0x100,
        0xd800,
        0xdfff,
        0xfffd,
        0xffff,
        0x10000,
        0x10ffff,
      ),
    },
  )
  .map((c) => String.fromCodePoint(c));

/** Strings of up to `maxLength` characters. */
export function text(maxLength: number): fc.Arbitrary<string> {
  return fc.string({ unit: CHAR, maxLength });
}

// ---- bytes ---------------------------------------------------------------------------------

/** One edit of a byte string; positions are taken modulo the length at the time of the edit. */
export type ByteMutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'copy'; from: number; length: number; at: number }
  | { kind: 'leb'; at: number; value: bigint };

/** Bytes that mean something in CBOR heads, LEB128, Candid opcodes and Wasm sections. */
const INTERESTING_BYTES = [
  0x00, 0x01, 0x02, 0x0b, 0x18, 0x1b, 0x1f, 0x3f, 0x40, 0x5f, 0x60, 0x6c, 0x6d, 0x7f, 0x80, 0x9f, 0xbf, 0xc2,
  0xd9, 0xdf, 0xf6, 0xf7, 0xfa, 0xfb, 0xff,
];

const position = fc.nat({ max: 1 << 16 });

export const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: position, bit: fc.nat({ max: 7 }) }),
  fc.record({
    kind: fc.constant('set' as const),
    at: position,
    value: fc.oneof(fc.constantFrom(...INTERESTING_BYTES), fc.nat({ max: 255 })),
  }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: position,
    bytes: fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 8 }),
      // A long LEB128 / CBOR length: the shape of most size fields.
      fc.constantFrom(
        Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f),
        Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x01),
        Uint8Array.of(0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
        Uint8Array.of(0x9f),
        Uint8Array.of(0xbf),
        Uint8Array.of(0xff),
      ),
    ),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: position, length: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: position }),
  fc.record({
    kind: fc.constant('copy' as const),
    from: position,
    length: fc.integer({ min: 1, max: 64 }),
    at: position,
  }),
  // The LEB128 number at a position (lengths, counts, indices in Candid and Wasm) set to an extreme.
  fc.record({
    kind: fc.constant('leb' as const),
    at: position,
    value: fc.constantFrom(
      0n,
      1n,
      0x7fn,
      0x80n,
      1n << 14n,
      1n << 21n,
      1n << 28n,
      (1n << 32n) - 1n,
      1n << 32n,
      (1n << 64n) - 1n,
    ),
  }),
);

function uleb(n: bigint): number[] {
  const out: number[] = [];
  do {
    let b = Number(n & 0x7fn);
    n >>= 7n;
    if (n !== 0n) b |= 0x80;
    out.push(b);
  } while (n !== 0n);
  return out;
}

export function applyByteMutations(base: Uint8Array, mutations: readonly ByteMutation[]): Uint8Array {
  let b = Array.from(base);
  for (const m of mutations) {
    const at = (n: number, extra = 0): number => (b.length + extra === 0 ? 0 : n % (b.length + extra));
    switch (m.kind) {
      case 'flip':
        if (b.length > 0) b[at(m.at)]! ^= 1 << m.bit;
        break;
      case 'set':
        if (b.length > 0) b[at(m.at)] = m.value;
        break;
      case 'insert':
        b.splice(at(m.at, 1), 0, ...m.bytes);
        break;
      case 'delete':
        b.splice(at(m.at), m.length);
        break;
      case 'truncate':
        b = b.slice(0, at(m.at));
        break;
      case 'copy': {
        const from = at(m.from);
        b.splice(at(m.at, 1), 0, ...b.slice(from, from + m.length));
        break;
      }
      case 'leb': {
        // The run of continuation bytes from the position, and its last byte.
        const start = at(m.at);
        let end = start;
        while (end < b.length && end - start < 10 && b[end]! & 0x80) end++;
        b.splice(start, end - start + 1, ...uleb(m.value));
        break;
      }
    }
  }
  return Uint8Array.from(b);
}

/** One of `bases` with one to four byte edits. */
export function mutatedBytes(bases: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(fc.constantFrom(...bases), fc.array(byteMutation, { minLength: 1, maxLength: 4 }))
    .map(([base, mutations]) => applyByteMutations(base, mutations));
}

// ---- JSON ----------------------------------------------------------------------------------

/** A JSON value as the REST codec receives it: integers beyond 2^53 are `bigint`. */
export type JsonValue =
  null | boolean | number | bigint | string | JsonValue[] | { [key: string]: JsonValue };

/** Boundary integers of the widths the codec reads (u16, u64, u128, usize) and of JavaScript's numbers. */
const BOUNDARY_INTEGERS: readonly (number | bigint)[] = [
  0,
  -1,
  1,
  255,
  256,
  65_535,
  65_536,
  2 ** 31,
  2 ** 32,
  Number.MAX_SAFE_INTEGER,
  -Number.MAX_SAFE_INTEGER,
  2n ** 53n,
  2n ** 63n,
  2n ** 64n - 1n,
  2n ** 64n,
  2n ** 128n - 1n,
  2n ** 128n,
  -(2n ** 64n),
];

/** Base64 texts: valid encodings of short and principal-sized byte strings, and near misses. */
const base64 = fc.oneof(
  fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString('base64')),
  fc.constantFrom('', 'AA==', 'BA==', '////', '=', '====', 'A', 'AB=', 'A===', 'ab=c', 'YWJj\n', ' AAAA'),
);

/**
 * Field names and variant names of PocketIC's REST bodies (so that random objects reach the
 * decoders' inner fields), plus the names that an object inherits.
 */
export const REST_VOCABULARY = [
  'sender',
  'canister_id',
  'method',
  'payload',
  'effective_principal',
  'None',
  'SubnetId',
  'CanisterId',
  'message_id',
  'raw_message_id',
  'raw_caller',
  'principal_id',
  'subnet_id',
  'nanos_since_epoch',
  'amount',
  'blob_id',
  'artificial_delay_ms',
  'request_id',
  'response',
  'CanisterHttpReply',
  'CanisterHttpReject',
  'status',
  'headers',
  'name',
  'value',
  'body',
  'reject_code',
  'message',
  'additional_responses',
  'subnet_config_set',
  'nns',
  'sns',
  'ii',
  'fiduciary',
  'bitcoin',
  'system',
  'application',
  'verified_application',
  'cloud_engine',
  'test_threshold_keys',
  'state_config',
  'New',
  'FromPath',
  'FromBlobStore',
  'instruction_config',
  'Production',
  'Benchmarking',
  'cost_schedule',
  'Normal',
  'Free',
  'state_dir',
  'http_gateway_config',
  'bitcoind_addr',
  'icp_features',
  'initial_time',
  'Timestamp',
  'AutoProgress',
  'sender_info',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'valueOf',
] as const;

const jsonKey = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...REST_VOCABULARY) },
  { weight: 1, arbitrary: text(6) },
);

const jsonScalar: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.constantFrom(...BOUNDARY_INTEGERS),
  fc.bigInt({ min: -(2n ** 130n), max: 2n ** 130n }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  text(8),
  base64,
  fc.constantFrom(...REST_VOCABULARY),
);

/** Arbitrary JSON, shallow enough to stay cheap, with the REST vocabulary as keys and strings. */
export const jsonValue: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { maxDepth: 3 },
    { weight: 3, arbitrary: jsonScalar },
    { weight: 1, arbitrary: fc.array(tie('value'), { maxLength: 3 }) },
    { weight: 1, arbitrary: fc.dictionary(jsonKey, tie('value'), { maxKeys: 4 }) },
  ),
})).value;

/** One edit of a JSON value: the node is chosen by index among all nodes (pre-order). */
export type JsonMutation =
  | { kind: 'replace'; node: number; value: JsonValue }
  | { kind: 'delete'; node: number }
  | { kind: 'add'; node: number; key: string; value: JsonValue }
  | { kind: 'wrap'; node: number; key: string | null };

export const jsonMutation: fc.Arbitrary<JsonMutation> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('replace' as const), node: fc.nat(), value: jsonValue }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), node: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('add' as const),
      node: fc.nat(),
      key: jsonKey,
      value: jsonValue,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('wrap' as const),
      node: fc.nat(),
      key: fc.option(jsonKey, { nil: null }),
    }),
  },
);

type Slot = { parent: JsonValue[] | { [key: string]: JsonValue }; key: string | number } | null;

/** Every node of `root` with the slot that holds it (null for the root), in pre-order. */
function nodes(root: JsonValue): { value: JsonValue; slot: Slot }[] {
  const out: { value: JsonValue; slot: Slot }[] = [];
  const walk = (value: JsonValue, slot: Slot): void => {
    out.push({ value, slot });
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, { parent: value, key: i }));
    else if (value !== null && typeof value === 'object')
      for (const k of Object.keys(value)) walk(value[k]!, { parent: value, key: k });
  };
  walk(root, null);
  return out;
}

function clone(v: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.map(clone);
  if (v !== null && typeof v === 'object') {
    const out: { [key: string]: JsonValue } = {};
    // defineProperty, so that a `__proto__` key stays an own property, as JSON.parse makes it.
    for (const k of Object.keys(v))
      Object.defineProperty(out, k, {
        value: clone(v[k]!),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return out;
  }
  return v;
}

function setSlot(slot: Slot, value: JsonValue): void {
  if (!slot) return;
  if (Array.isArray(slot.parent)) slot.parent[slot.key as number] = value;
  else
    Object.defineProperty(slot.parent, slot.key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
}

export function applyJsonMutations(base: JsonValue, mutations: readonly JsonMutation[]): JsonValue {
  let root = clone(base);
  for (const m of mutations) {
    const all = nodes(root);
    const { value, slot } = all[m.node % all.length]!;
    switch (m.kind) {
      case 'replace':
        if (slot) setSlot(slot, clone(m.value));
        else root = clone(m.value);
        break;
      case 'delete':
        if (!slot) root = null;
        else if (Array.isArray(slot.parent)) slot.parent.splice(slot.key as number, 1);
        else delete slot.parent[slot.key];
        break;
      case 'add':
        if (Array.isArray(value)) value.push(clone(m.value));
        else if (value !== null && typeof value === 'object')
          setSlot({ parent: value, key: m.key }, clone(m.value));
        break;
      case 'wrap': {
        const wrapped: JsonValue = m.key === null ? [value] : { [m.key]: value };
        if (slot) setSlot(slot, wrapped);
        else root = wrapped;
        break;
      }
    }
  }
  return root;
}

/** One of `bases` with one to three edits. */
export function mutatedJson(bases: readonly JsonValue[]): fc.Arbitrary<JsonValue> {
  return fc
    .tuple(fc.constantFrom(...bases), fc.array(jsonMutation, { minLength: 1, maxLength: 3 }))
    .map(([base, mutations]) => applyJsonMutations(base, mutations));
}

/** A short description of an unexpected exception, for assertion messages. */
export function describeError(e: unknown): string {
  return e instanceof Error ? `${e.constructor.name}: ${e.message}\n${e.stack ?? ''}` : String(e);
}
