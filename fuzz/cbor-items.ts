/**
 * CBOR as the fuzz suite writes it: an item tree that can hold what no agent
 * sends (integer and duplicate map keys, indefinite lengths, any tag, floats,
 * non-minimal heads), its encoder, generators of items shaped like request
 * envelopes, and edits of item trees.
 */
import fc from 'fast-check';
import { text } from './support.ts';

export type Item =
  | { t: 'uint'; v: bigint }
  | { t: 'nint'; v: bigint }
  | { t: 'bytes'; v: Uint8Array; indefinite?: boolean }
  | { t: 'text'; v: string; indefinite?: boolean }
  | { t: 'array'; v: Item[]; indefinite?: boolean }
  | { t: 'map'; v: [Item, Item][]; indefinite?: boolean }
  | { t: 'tag'; tag: bigint; v: Item }
  | { t: 'simple'; v: number }
  | { t: 'float'; v: number };

const utf8 = new TextEncoder();

/** A head: major type and argument, minimal unless `width` (1, 2, 4, 8 bytes) forces a longer form. */
function head(out: number[], major: number, arg: bigint, width?: number): void {
  const m = major << 5;
  if (width === undefined) {
    if (arg < 24n) return void out.push(m | Number(arg));
    width = arg < 0x100n ? 1 : arg < 0x10000n ? 2 : arg < 0x100000000n ? 4 : 8;
  }
  out.push(m | { 1: 24, 2: 25, 4: 26, 8: 27 }[width as 1 | 2 | 4 | 8]);
  for (let i = width - 1; i >= 0; i--) out.push(Number((arg >> BigInt(8 * i)) & 0xffn));
}

function write(out: number[], item: Item): void {
  switch (item.t) {
    case 'uint':
      return head(out, 0, item.v & 0xffff_ffff_ffff_ffffn);
    case 'nint':
      return head(out, 1, item.v & 0xffff_ffff_ffff_ffffn);
    case 'bytes':
    case 'text': {
      const major = item.t === 'bytes' ? 2 : 3;
      const bytes = item.t === 'bytes' ? item.v : utf8.encode(item.v);
      if (item.indefinite) {
        out.push((major << 5) | 31);
        const half = bytes.length >> 1;
        for (const part of [bytes.subarray(0, half), bytes.subarray(half)]) {
          head(out, major, BigInt(part.length));
          out.push(...part);
        }
        return void out.push(0xff);
      }
      head(out, major, BigInt(bytes.length));
      return void out.push(...bytes);
    }
    case 'array':
    case 'map': {
      const major = item.t === 'array' ? 4 : 5;
      if (item.indefinite) out.push((major << 5) | 31);
      else head(out, major, BigInt(item.v.length));
      if (item.t === 'array') for (const x of item.v) write(out, x);
      else
        for (const [k, x] of item.v) {
          write(out, k);
          write(out, x);
        }
      if (item.indefinite) out.push(0xff);
      return;
    }
    case 'tag':
      head(out, 6, item.tag);
      return write(out, item.v);
    case 'simple':
      return head(out, 7, BigInt(item.v));
    case 'float': {
      out.push(0xfb);
      const b = Buffer.alloc(8);
      b.writeDoubleBE(item.v);
      return void out.push(...b);
    }
  }
}

export function encodeItem(item: Item): Uint8Array {
  const out: number[] = [];
  write(out, item);
  return Uint8Array.from(out);
}

/** The self-describe tag 55799 around `item`, as agents send envelopes. */
export const selfDescribed = (item: Item): Item => ({ t: 'tag', tag: 55799n, v: item });

/** A JavaScript value (as the agents build envelopes) as an item: text keys, byte strings, integers. */
export type Plain = bigint | number | string | Uint8Array | Plain[] | { [key: string]: Plain };

export function itemOf(v: Plain): Item {
  if (typeof v === 'bigint' || typeof v === 'number') {
    const n = BigInt(v);
    return n >= 0n ? { t: 'uint', v: n } : { t: 'nint', v: -1n - n };
  }
  if (typeof v === 'string') return { t: 'text', v };
  if (v instanceof Uint8Array) return { t: 'bytes', v };
  if (Array.isArray(v)) return { t: 'array', v: v.map(itemOf) };
  return { t: 'map', v: Object.entries(v).map(([k, x]) => [{ t: 'text', v: k }, itemOf(x)]) };
}

// ---- generators ----------------------------------------------------------------------

/** Map keys and text values of envelopes, plus the names an object inherits. */
export const ENVELOPE_VOCABULARY = [
  'content',
  'sender_pubkey',
  'sender_sig',
  'sender_delegation',
  'delegation',
  'signature',
  'pubkey',
  'expiration',
  'targets',
  'request_type',
  'call',
  'query',
  'read_state',
  'sender',
  'canister_id',
  'method_name',
  'arg',
  'ingress_expiry',
  'nonce',
  'paths',
  'sender_info',
  'time',
  'request_status',
  'canister',
  'subnet',
  'module_hash',
  'controllers',
  'metadata',
  'certificate',
  'tree',
  'authenticator_data',
  'client_data_json',
  'challenge',
  'inc',
  'get',
  '__proto__',
  'constructor',
  'toString',
  'valueOf',
  'hasOwnProperty',
] as const;

/** Byte strings of the lengths the envelope rules care about (principals ≤ 29, ids 32, nonces ≤ 32). */
const bytesItem = fc
  .oneof(
    fc.uint8Array({ maxLength: 34 }),
    fc.constantFrom(0, 1, 29, 30, 32, 33, 96).map((n) => new Uint8Array(n).fill(n)),
    fc.constantFrom(Uint8Array.of(4), Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xfe, 0, 0, 1, 1, 1)),
  )
  .map((v): Item => ({ t: 'bytes', v }));

export function leafItems(integers: readonly bigint[]): fc.Arbitrary<Item> {
  return fc.oneof(
    { weight: 3, arbitrary: bytesItem },
    {
      weight: 3,
      arbitrary: fc
        .oneof(fc.constantFrom(...ENVELOPE_VOCABULARY), text(8))
        .map((v): Item => ({ t: 'text', v })),
    },
    {
      weight: 2,
      arbitrary: fc
        .oneof(
          fc.constantFrom(...integers, 0n, 1n, 2n ** 64n - 1n),
          fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        )
        .map((v): Item => ({ t: 'uint', v })),
    },
    {
      weight: 1,
      arbitrary: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((v): Item => ({ t: 'nint', v })),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(20, 21, 22, 23, 0, 19, 31).map((v): Item => ({ t: 'simple', v })),
    },
    { weight: 1, arbitrary: fc.double().map((v): Item => ({ t: 'float', v })) },
  );
}

/** Items of any shape, envelope-flavoured, shallow. */
export function items(integers: readonly bigint[] = []): fc.Arbitrary<Item> {
  const leaf = leafItems(integers);
  return fc.letrec<{ item: Item }>((tie) => ({
    item: fc.oneof(
      { maxDepth: 4 },
      { weight: 4, arbitrary: leaf },
      {
        weight: 1,
        arbitrary: fc
          .record({ v: fc.array(tie('item'), { maxLength: 3 }), indefinite: fc.boolean() })
          .map(({ v, indefinite }): Item => ({ t: 'array', v, indefinite })),
      },
      {
        weight: 2,
        arbitrary: fc
          .record({
            v: fc.array(
              fc.tuple(
                fc.oneof(
                  {
                    weight: 5,
                    arbitrary: fc.constantFrom(...ENVELOPE_VOCABULARY).map((v): Item => ({ t: 'text', v })),
                  },
                  { weight: 1, arbitrary: leaf },
                ),
                tie('item'),
              ),
              { maxLength: 4 },
            ),
            indefinite: fc.boolean(),
          })
          .map(({ v, indefinite }): Item => ({ t: 'map', v, indefinite })),
      },
      {
        weight: 1,
        arbitrary: fc
          .tuple(fc.constantFrom(55799n, 0n, 2n, 24n, 42n, 2n ** 64n - 1n), tie('item'))
          .map(([tag, v]): Item => ({ t: 'tag', tag, v })),
      },
    ),
  })).item;
}

// ---- edits ---------------------------------------------------------------------------

export type ItemMutation =
  | { kind: 'replace'; node: number; item: Item }
  | { kind: 'delete'; node: number }
  | { kind: 'add'; node: number; key: Item; item: Item }
  | { kind: 'duplicate'; node: number }
  | { kind: 'indefinite'; node: number }
  | { kind: 'tag'; node: number; tag: bigint };

export function itemMutations(integers: readonly bigint[] = []): fc.Arbitrary<ItemMutation> {
  const any = items(integers);
  const leaf = leafItems(integers);
  const key = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...ENVELOPE_VOCABULARY).map((v): Item => ({ t: 'text', v })) },
    { weight: 1, arbitrary: leaf },
  );
  return fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({ kind: fc.constant('replace' as const), node: fc.nat(), item: leaf }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('replace' as const), node: fc.nat(), item: any }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), node: fc.nat() }) },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant('add' as const), node: fc.nat(), key, item: any }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), node: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('indefinite' as const), node: fc.nat() }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('tag' as const),
        node: fc.nat(),
        tag: fc.constantFrom(55799n, 0n, 2n, 6n, 24n),
      }),
    },
  );
}

type Holder = { item: Item; parent: Item | null; index: number; isKey: boolean };

function clone(item: Item): Item {
  switch (item.t) {
    case 'array':
      return { ...item, v: item.v.map(clone) };
    case 'map':
      return { ...item, v: item.v.map(([k, x]): [Item, Item] => [clone(k), clone(x)]) };
    case 'tag':
      return { ...item, v: clone(item.v) };
    default:
      return { ...item };
  }
}

function holders(root: Item): Holder[] {
  const out: Holder[] = [];
  const walk = (item: Item, parent: Item | null, index: number, isKey: boolean): void => {
    out.push({ item, parent, index, isKey });
    if (item.t === 'array') item.v.forEach((x, i) => walk(x, item, i, false));
    else if (item.t === 'map')
      item.v.forEach(([k, x], i) => {
        walk(k, item, i, true);
        walk(x, item, i, false);
      });
    else if (item.t === 'tag') walk(item.v, item, 0, false);
  };
  walk(root, null, 0, false);
  return out;
}

function put(h: Holder, next: Item): Item | null {
  const p = h.parent;
  if (!p) return next;
  if (p.t === 'array') p.v[h.index] = next;
  else if (p.t === 'map') p.v[h.index]![h.isKey ? 0 : 1] = next;
  else if (p.t === 'tag') p.v = next;
  return null;
}

export function applyItemMutations(base: Item, mutations: readonly ItemMutation[]): Item {
  let root = clone(base);
  for (const m of mutations) {
    const all = holders(root);
    const h = all[m.node % all.length]!;
    let replaced: Item | null = null;
    switch (m.kind) {
      case 'replace':
        replaced = put(h, clone(m.item));
        break;
      case 'delete':
        if (h.parent?.t === 'array' || h.parent?.t === 'map') h.parent.v.splice(h.index, 1);
        else replaced = put(h, { t: 'simple', v: 22 });
        break;
      case 'add':
        if (h.item.t === 'map') h.item.v.push([clone(m.key), clone(m.item)]);
        else if (h.item.t === 'array') h.item.v.push(clone(m.item));
        break;
      case 'duplicate':
        if (h.parent?.t === 'map') {
          const entry = h.parent.v[h.index]!;
          h.parent.v.push([clone(entry[0]), clone(entry[1])]);
        } else if (h.parent?.t === 'array') h.parent.v.push(clone(h.item));
        break;
      case 'indefinite':
        if (h.item.t === 'array' || h.item.t === 'map' || h.item.t === 'bytes' || h.item.t === 'text')
          h.item.indefinite = !h.item.indefinite;
        break;
      case 'tag':
        replaced = put(h, { t: 'tag', tag: m.tag, v: h.item });
        break;
    }
    if (replaced) root = replaced;
  }
  return root;
}

// ---- envelope grammar ----------------------------------------------------------------

/**
 * Envelopes built field by field: each known field absent, of the right type or of a wrong one
 * (another leaf, a small map, an array), so that every field's checks meet every kind of value.
 */
export function envelopeShaped(integers: readonly bigint[], canisterId: Uint8Array): fc.Arbitrary<Item> {
  const leaf = leafItems(integers);
  const smallMap = fc
    .array(
      fc.tuple(
        fc.constantFrom(...ENVELOPE_VOCABULARY).map((v): Item => ({ t: 'text', v })),
        leaf,
      ),
      { minLength: 1, maxLength: 3 },
    )
    .map((v): Item => ({ t: 'map', v }));
  const smallArray = fc.array(leaf, { maxLength: 3 }).map((v): Item => ({ t: 'array', v }));
  const field = (good: fc.Arbitrary<Item>): fc.Arbitrary<Item> =>
    fc.oneof(
      { weight: 6, arbitrary: good },
      { weight: 1, arbitrary: leaf },
      { weight: 1, arbitrary: smallMap },
      { weight: 1, arbitrary: smallArray },
    );
  const text = (...values: string[]) => fc.constantFrom(...values).map((v): Item => ({ t: 'text', v }));
  const bytes = (...lengths: number[]) =>
    fc
      .oneof(
        fc.constantFrom(...lengths).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
        fc.constant(canisterId),
      )
      .map((v): Item => ({ t: 'bytes', v }));
  const uint = fc
    .oneof(fc.constantFrom(...integers), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }))
    .map((v): Item => ({ t: 'uint', v }));
  const label = bytes(0, 4, 10, 32);
  const path = fc.array(
    fc.oneof(label, text('time', 'canister', 'request_status', 'subnet', 'module_hash')),
    {
      maxLength: 4,
    },
  );
  const content = fc.record(
    {
      request_type: field(text('call', 'query', 'read_state')),
      sender: field(fc.oneof(bytes(1, 29, 30), fc.constant<Item>({ t: 'bytes', v: Uint8Array.of(4) }))),
      canister_id: field(bytes(0, 10, 29, 30)),
      method_name: field(text('inc', 'get', '', 'canister_status', 'x'.repeat(300))),
      arg: field(bytes(0, 6, 64)),
      ingress_expiry: field(uint),
      nonce: field(bytes(0, 8, 32, 33)),
      paths: field(
        fc
          .array(
            path.map((v): Item => ({ t: 'array', v })),
            { maxLength: 3 },
          )
          .map((v): Item => ({ t: 'array', v })),
      ),
    },
    { requiredKeys: [] },
  );
  const delegation = fc.record(
    {
      delegation: field(
        fc
          .record(
            { pubkey: field(bytes(0, 44)), expiration: field(uint), targets: field(smallArray) },
            { requiredKeys: [] },
          )
          .map(mapOf),
      ),
      signature: field(bytes(0, 64)),
    },
    { requiredKeys: [] },
  );
  return fc
    .record(
      {
        content: field(content.map(mapOf)),
        sender_pubkey: field(bytes(0, 44, 91)),
        sender_sig: field(bytes(0, 64)),
        sender_delegation: field(
          fc.array(delegation.map(mapOf), { maxLength: 3 }).map((v): Item => ({ t: 'array', v })),
        ),
      },
      { requiredKeys: [] },
    )
    .map((fields) => selfDescribed(mapOf(fields)));
}

function mapOf(fields: Partial<Record<string, Item>>): Item {
  return {
    t: 'map',
    v: Object.entries(fields)
      .filter((e): e is [string, Item] => e[1] !== undefined)
      .map(([k, v]) => [{ t: 'text', v: k }, v]),
  };
}
