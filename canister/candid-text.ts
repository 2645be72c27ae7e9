/**
 * Just enough of a Candid text reader to check that canister/upload.did, the
 * shared IDL factory and the .did that `azle build` writes describe the same
 * interface. Both sides are turned into a canonical string: named types
 * inlined, `blob` as `vec nat8`, record and variant fields sorted by name,
 * argument names dropped.
 */
import { IDL } from '@icp-sdk/core/candid';

type Tok = string;

function tokenize(src: string): Tok[] {
  const toks: Tok[] = [];
  const re = /\s+|\/\/[^\n]*|(->|[{}();:=,])|("(?:[^"\\]|\\.)*")|([A-Za-z_][A-Za-z0-9_]*)/gy;
  let m: RegExpExecArray | null;
  let at = 0;
  while (at < src.length) {
    re.lastIndex = at;
    m = re.exec(src);
    if (m === null) throw new Error(`candid: unexpected ${JSON.stringify(src.slice(at, at + 20))}`);
    at = re.lastIndex;
    const t = m[1] ?? m[2] ?? m[3];
    if (t !== undefined) toks.push(t);
  }
  return toks;
}

const PRIMS = new Set([
  'nat',
  'nat8',
  'nat16',
  'nat32',
  'nat64',
  'int',
  'int8',
  'int16',
  'int32',
  'int64',
  'float32',
  'float64',
  'bool',
  'text',
  'null',
  'reserved',
  'empty',
  'principal',
]);

export type CanonicalService = { init: string[]; methods: Record<string, string> };

export function parseDid(src: string): CanonicalService {
  const toks = tokenize(src);
  let p = 0;
  const peek = (): Tok | undefined => toks[p];
  const next = (): Tok => {
    const t = toks[p++];
    if (t === undefined) throw new Error('candid: unexpected end');
    return t;
  };
  const expect = (t: Tok): void => {
    const got = next();
    if (got !== t) throw new Error(`candid: expected ${t}, got ${got}`);
  };
  const defs = new Map<string, Tok[]>();
  const name = (t: Tok): string => (t.startsWith('"') ? (JSON.parse(t) as string) : t);

  // Types are parsed lazily so definitions may refer to later ones.
  const parseType = (): string => {
    const t = next();
    if (PRIMS.has(t)) return t;
    if (t === 'blob') return 'vec nat8';
    if (t === 'opt') return `opt ${parseType()}`;
    if (t === 'vec') return `vec ${parseType()}`;
    if (t === 'func') {
      const args = parseArgs();
      expect('->');
      const rets = parseArgs();
      const modes: string[] = [];
      while (peek() === 'query' || peek() === 'composite_query' || peek() === 'oneway') modes.push(next());
      return `func (${args.join(', ')}) -> (${rets.join(', ')})${modes.map((x) => ` ${x}`).join('')}`;
    }
    if (t === 'record' || t === 'variant') {
      expect('{');
      const fields: string[] = [];
      while (peek() !== '}') {
        // `record { text; text }`: positional fields, named _0_, _1_, … as the IDL's tuples are.
        if (t === 'record' && toks[p + 1] !== ':') {
          fields.push(`_${fields.length}_:${parseType()}`);
          if (peek() === ';') next();
          continue;
        }
        const f = name(next());
        let ty = 'null';
        if (peek() === ':') {
          next();
          ty = parseType();
        }
        fields.push(`${f}:${ty}`);
        if (peek() === ';') next();
      }
      expect('}');
      fields.sort();
      return `${t}{${fields.join(';')}}`;
    }
    const def = defs.get(t);
    if (def === undefined) throw new Error(`candid: unknown type ${t}`);
    return parseDidType(def, defs);
  };

  function parseArgs(): string[] {
    expect('(');
    const out: string[] = [];
    while (peek() !== ')') {
      if (toks[p + 1] === ':') p += 2; // an argument name
      out.push(parseType());
      if (peek() === ',') next();
    }
    expect(')');
    return out;
  }

  // Collect definitions first.
  while (peek() === 'type') {
    next();
    const n = next();
    expect('=');
    const start = p;
    let depth = 0;
    while (!(depth === 0 && peek() === ';')) {
      const t = next();
      if (t === '{') depth++;
      if (t === '}') depth--;
    }
    defs.set(n, toks.slice(start, p));
    expect(';');
  }
  expect('service');
  expect(':');
  let init: string[] = [];
  if (peek() === '(') {
    init = parseArgs();
    expect('->');
  }
  expect('{');
  const methods: Record<string, string> = {};
  while (peek() !== '}') {
    const m = name(next());
    expect(':');
    const args = parseArgs();
    expect('->');
    const rets = parseArgs();
    const modes: string[] = [];
    while (peek() === 'query' || peek() === 'composite_query' || peek() === 'oneway') modes.push(next());
    methods[m] = `(${args.join(', ')}) -> (${rets.join(', ')})${modes.map((x) => ` ${x}`).join('')}`;
    if (peek() === ';') next();
  }
  expect('}');
  return { init, methods };
}

function parseDidType(toks: Tok[], defs: Map<string, Tok[]>): string {
  const src: string[] = [];
  for (const [n, body] of defs) src.push(`type ${n} = ${body.join(' ')};`);
  src.push(`service : (${toks.join(' ')}) -> {}`);
  return parseDid(src.join('\n')).init[0];
}

/** Canonical text of an IDL type, in the same form as parseDid produces. */
export function canonicalIdl(t: IDL.Type): string {
  if (t instanceof IDL.RecClass) {
    const inner = (t as unknown as { _type: IDL.Type | undefined })._type;
    if (inner === undefined) throw new Error('candid: recursive type without definition');
    return canonicalIdl(inner);
  }
  if (t instanceof IDL.FuncClass) {
    const args = t.argTypes.map(canonicalIdl).join(', ');
    const rets = t.retTypes.map(canonicalIdl).join(', ');
    return `func (${args}) -> (${rets})${t.annotations.map((a) => ` ${a}`).join('')}`;
  }
  if (t instanceof IDL.VecClass) return `vec ${canonicalIdl((t as unknown as { _type: IDL.Type })._type)}`;
  if (t instanceof IDL.OptClass) return `opt ${canonicalIdl((t as unknown as { _type: IDL.Type })._type)}`;
  if (t instanceof IDL.VariantClass || t instanceof IDL.RecordClass) {
    const fields = (t as unknown as { _fields: [string, IDL.Type][] })._fields.map(
      ([k, v]) => `${k}:${canonicalIdl(v)}`,
    );
    fields.sort();
    return `${t instanceof IDL.VariantClass ? 'variant' : 'record'}{${fields.join(';')}}`;
  }
  return t.display();
}

export function canonicalService(service: IDL.ServiceClass, init: IDL.Type[]): CanonicalService {
  const methods: Record<string, string> = {};
  for (const [m, f] of service._fields) {
    const args = f.argTypes.map(canonicalIdl).join(', ');
    const rets = f.retTypes.map(canonicalIdl).join(', ');
    methods[m] = `(${args}) -> (${rets})${f.annotations.map((a) => ` ${a}`).join('')}`;
  }
  return { init: init.map(canonicalIdl), methods };
}
