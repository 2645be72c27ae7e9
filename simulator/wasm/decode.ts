/**
 * Section-level decoder for canister modules.
 *
 * Reads what the simulator needs before a module runs: types, imports,
 * function/table/memory/global declarations, exports, start, the element /
 * code / data counts, data-segment offset expressions (the IC validates
 * them), custom sections, the `name` section's function names (trap traces)
 * and `icp:public` / `icp:private` metadata. Function bodies are not decoded.
 *
 * Binary format: WebAssembly Core Specification §5 (Binary Format), plus the
 * memory64 proposal (limits flags 0x04 = 64-bit index type, for memories and
 * tables) and the threads proposal (limits flag 0x02 = shared).
 *
 * Canister modules may be gzip-compressed (IC interface spec, "Canister
 * module format"; dfinity/ic `rs/embedders/src/wasm_utils/decoding.rs`
 * `decode_wasm`): the bytes then start with 1f 8b 08.
 */
import { gunzipSync } from 'node:zlib';
import { ByteReader } from './binary.ts';

/** Thrown for bytes that are not a well-formed module (or not a module at all). */
export class WasmDecodeError extends Error {
  /** Byte offset (in the decoded, uncompressed module) where decoding failed; -1 if not applicable. */
  readonly offset: number;
  /**
   * The reason text the IC gives for this failure as a `DecodingError`
   * (`Failed to decode wasm module: <reason>`), when the failure is one the IC
   * detects before Wasm validation: unknown magic, broken gzip. Undefined for
   * structural errors inside a module, which the IC reports through its Wasm
   * validator instead.
   */
  readonly icReason: string | undefined;
  /** The uncompressed module bytes, when decoding got past gzip. */
  moduleBytes: Uint8Array | undefined;
  /** Set when a gzipped module decompresses to more than `WASM_MAX_SIZE` bytes: its (declared) size. */
  tooLarge: number | undefined;
  constructor(message: string, offset: number, icReason?: string) {
    super(offset >= 0 ? `${message} (at offset 0x${offset.toString(16)})` : message);
    this.name = 'WasmDecodeError';
    this.offset = offset;
    this.icReason = icReason;
  }
}

/** Value types. `ref` stands for any typed reference beyond funcref/externref. */
export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'funcref' | 'externref' | 'ref';

export interface FuncType {
  params: ValType[];
  results: ValType[];
}

/** Limits of a table or memory. Sizes are in elements (tables) or 64 KiB pages (memories). */
export interface Limits {
  min: bigint;
  max: bigint | null;
  /** 64-bit index type (memory64 / table64; limits flag 0x04). */
  is64: boolean;
  /** Shared (threads proposal; limits flag 0x02). Meaningful for memories only. */
  shared: boolean;
}

export interface TableType {
  elementType: ValType;
  limits: Limits;
}

export interface GlobalType {
  valType: ValType;
  mutable: boolean;
}

export type ExternKind = 'func' | 'table' | 'memory' | 'global' | 'tag';

export type ImportDesc =
  | { kind: 'func'; typeIndex: number }
  | { kind: 'table'; table: TableType }
  | { kind: 'memory'; memory: Limits }
  | { kind: 'global'; global: GlobalType }
  | { kind: 'tag'; typeIndex: number };

/** One import. `index` is its position in the index space of its kind. */
export type ImportInfo = { module: string; name: string; index: number } & ImportDesc;

export interface ExportInfo {
  name: string;
  kind: ExternKind;
  index: number;
}

/** A global defined in the module (not imported). `index` is in the global index space. */
export interface GlobalInfo extends GlobalType {
  index: number;
}

/** The first instruction of a constant expression, for diagnostics and the IC's data-offset rule. */
export type ConstOp =
  | { op: 'i32.const'; value: number }
  | { op: 'i64.const'; value: bigint }
  | { op: 'f32.const' }
  | { op: 'f64.const' }
  | { op: 'v128.const' }
  | { op: 'global.get'; index: number }
  | { op: 'ref.null' }
  | { op: 'ref.func'; index: number }
  | { op: 'other'; opcode: number };

export interface ConstExpr {
  /** The instructions before `end`, first one first. */
  ops: ConstOp[];
}

export interface DataSegmentInfo {
  mode: 'active' | 'passive';
  memoryIndex: number;
  /** Offset expression (active segments only). */
  offset: ConstExpr | null;
  size: number;
}

export interface CustomSectionInfo {
  name: string;
  /** Byte offset of the payload (after the name) in `bytes`. */
  payloadStart: number;
  /** Byte offset just past the payload. */
  payloadEnd: number;
}

/** One section as it sits in the decoded bytes. */
export interface SectionInfo {
  id: number;
  /** Offset of the section id byte. */
  start: number;
  /** Offset of the section contents (after the size LEB). */
  contentStart: number;
  /** Offset just past the section. */
  end: number;
}

export interface CanisterMetadata {
  /** The `<name>` in `icp:public <name>` / `icp:private <name>` (may be empty). */
  name: string;
  visibility: 'public' | 'private';
  content: Uint8Array;
}

export interface ModuleInfo {
  /** The bytes as given (possibly gzip-compressed). */
  rawBytes: Uint8Array;
  /** The uncompressed module. All offsets in this structure refer to it. */
  bytes: Uint8Array;
  gzipped: boolean;
  sections: SectionInfo[];
  types: FuncType[];
  imports: ImportInfo[];
  /** Type index of each function defined in the module, in order (function section). */
  functions: number[];
  /** Tables defined in the module (not imported). */
  tables: TableType[];
  /** Memories defined in the module (not imported). */
  memories: Limits[];
  globals: GlobalInfo[];
  exports: ExportInfo[];
  /** Function index of the start function, or null. */
  start: number | null;
  elementCount: number;
  codeCount: number;
  /** Size in bytes of the code section's contents (0 without one). */
  codeSectionSize: number;
  dataSegments: DataSegmentInfo[];
  /** Value of the data count section (id 12), or null without one. */
  dataCount: number | null;
  /** Number of tags defined in the tag section (exception handling), 0 without one. */
  tagCount: number;
  customSections: CustomSectionInfo[];
  /** Function names from the `name` custom section (subsection 1), by function index. */
  functionNames: Map<number, string>;
  /** `icp:public` / `icp:private` custom sections, in module order. */
  metadata: CanisterMetadata[];
  numImportedFunctions: number;
  numImportedTables: number;
  numImportedMemories: number;
  numImportedGlobals: number;
  /** Memory 0 (imports first) has a 64-bit index type. */
  isWasm64: boolean;
}

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];
const WASM_VERSION = [0x01, 0x00, 0x00, 0x00];
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A cursor over the module bytes that reports failures as {@link WasmDecodeError}. */
export class Reader extends ByteReader {
  fail(what: string, at = this.pos): never {
    throw new WasmDecodeError(what, at);
  }

  protected inputName(): string {
    return this.end === this.bytes.length ? 'module' : 'section';
  }

  name(what = 'a name'): string {
    const len = this.u32(`length of ${what}`);
    const at = this.pos;
    const raw = this.take(len, what);
    try {
      return utf8.decode(raw);
    } catch {
      return this.fail(`invalid UTF-8 in ${what}`, at);
    }
  }
}

/** rs/config/src/embedders.rs `WASM_MAX_SIZE`: largest uncompressed module. */
export const WASM_MAX_SIZE = 100 * 1024 * 1024;

function tooLarge(size: number): WasmDecodeError {
  const err = new WasmDecodeError(`the module decompresses to more than ${WASM_MAX_SIZE} bytes`, -1);
  err.tooLarge = size;
  return err;
}

/** Undo gzip compression if the bytes carry the gzip magic, as the IC does. */
function gunzipIfNeeded(raw: Uint8Array): { bytes: Uint8Array; gzipped: boolean } {
  if (raw.length >= 4 && WASM_MAGIC.every((b, i) => raw[i] === b)) return { bytes: raw, gzipped: false };
  if (raw.length >= 3 && raw[0] === 0x1f && raw[1] === 0x8b && raw[2] === 0x08) {
    // dfinity/ic rs/embedders/src/wasm_utils/decoding.rs `wasm_encoding_and_size`.
    if (raw.length < 16) {
      throw new WasmDecodeError(
        'gzip stream is too short',
        -1,
        'invalid Wasm module: gzip stream is too short',
      );
    }
    // The IC reads the uncompressed size from the gzip trailer (ISIZE) and refuses a module that
    // would exceed its size limit before decompressing, then decompresses at most that much
    // (decoding.rs `wasm_encoding_and_size`, `decode_wasm`): no gzip bomb reaches memory.
    const declared = new DataView(raw.buffer, raw.byteOffset + raw.length - 4, 4).getUint32(0, true);
    if (declared > WASM_MAX_SIZE) throw tooLarge(declared);
    let out: Uint8Array;
    try {
      out = new Uint8Array(gunzipSync(raw, { maxOutputLength: WASM_MAX_SIZE }));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(WASM_MAX_SIZE + 1);
      const msg = e instanceof Error ? e.message : String(e);
      throw new WasmDecodeError(
        `cannot gunzip module: ${msg}`,
        -1,
        `failed to decode compressed Wasm module: ${msg}`,
      );
    }
    return { bytes: out, gzipped: true };
  }
  const head = Array.from(raw.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new WasmDecodeError(
    `not a Wasm module: expected magic 00 61 73 6d (or gzip 1f 8b 08), found ${head || 'no bytes'}`,
    -1,
    'unsupported canister module format',
  );
}

function valType(r: Reader): ValType {
  const at = r.pos;
  const b = r.byte('a value type');
  switch (b) {
    case 0x7f:
      return 'i32';
    case 0x7e:
      return 'i64';
    case 0x7d:
      return 'f32';
    case 0x7c:
      return 'f64';
    case 0x7b:
      return 'v128';
    case 0x70:
      return 'funcref';
    case 0x6f:
      return 'externref';
    case 0x63:
    case 0x64:
      // (ref null ht) / (ref ht): a heap type (s33) follows.
      r.sleb(33, 'a heap type');
      return 'ref';
    default:
      if (b >= 0x69 && b <= 0x73) return 'ref'; // other abbreviated reference types (GC proposal)
      return r.fail(`expected a value type, found 0x${b.toString(16)}`, at);
  }
}

function refType(r: Reader, what: string): ValType {
  const at = r.pos;
  const t = valType(r);
  if (t !== 'funcref' && t !== 'externref' && t !== 'ref')
    r.fail(`expected a reference type for ${what}, found ${t}`, at);
  return t;
}

function limits(r: Reader, what: string): Limits {
  const at = r.pos;
  const flags = r.byte(`limits flags of ${what}`);
  if (flags & ~0x07) r.fail(`invalid limits flags 0x${flags.toString(16)} for ${what}`, at);
  const hasMax = (flags & 0x01) !== 0;
  const shared = (flags & 0x02) !== 0;
  const is64 = (flags & 0x04) !== 0;
  const read = (w: string): bigint => (is64 ? r.u64(w) : BigInt(r.u32(w)));
  const min = read(`minimum of ${what}`);
  const max = hasMax ? read(`maximum of ${what}`) : null;
  return { min, max, is64, shared };
}

function tableType(r: Reader): TableType {
  const elementType = refType(r, 'a table');
  return { elementType, limits: limits(r, 'a table') };
}

function globalType(r: Reader): GlobalType {
  const t = valType(r);
  const at = r.pos;
  const m = r.byte('global mutability');
  if (m > 1) r.fail(`invalid global mutability 0x${m.toString(16)}`, at);
  return { valType: t, mutable: m === 1 };
}

/** Reads a constant expression up to and including its `end`. */
function constExpr(r: Reader, what: string): ConstExpr {
  const ops: ConstOp[] = [];
  for (;;) {
    const at = r.pos;
    const op = r.byte(`an instruction of ${what}`);
    switch (op) {
      case 0x0b:
        return { ops };
      case 0x41:
        ops.push({ op: 'i32.const', value: Number(r.sleb(32, 'an i32 constant')) });
        break;
      case 0x42:
        ops.push({ op: 'i64.const', value: r.sleb(64, 'an i64 constant') });
        break;
      case 0x43:
        r.take(4, 'an f32 constant');
        ops.push({ op: 'f32.const' });
        break;
      case 0x44:
        r.take(8, 'an f64 constant');
        ops.push({ op: 'f64.const' });
        break;
      case 0x23:
        ops.push({ op: 'global.get', index: r.u32('a global index') });
        break;
      case 0xd0:
        r.sleb(33, 'a heap type');
        ops.push({ op: 'ref.null' });
        break;
      case 0xd2:
        ops.push({ op: 'ref.func', index: r.u32('a function index') });
        break;
      case 0xfd: {
        const sub = r.u32('a SIMD opcode');
        if (sub !== 12) r.fail(`unsupported SIMD instruction 0xfd ${sub} in ${what}`, at);
        r.take(16, 'a v128 constant');
        ops.push({ op: 'v128.const' });
        break;
      }
      // Extended constant expressions: i32/i64 add, sub, mul.
      case 0x6a:
      case 0x6b:
      case 0x6c:
      case 0x7c:
      case 0x7d:
      case 0x7e:
        ops.push({ op: 'other', opcode: op });
        break;
      default:
        r.fail(`unsupported instruction 0x${op.toString(16)} in ${what}`, at);
    }
  }
}

const KIND_BY_BYTE: readonly ExternKind[] = ['func', 'table', 'memory', 'global', 'tag'];

/**
 * Decodes a canister module (plain or gzip-compressed).
 * Throws {@link WasmDecodeError} for anything that is not a well-formed module.
 */
export function decodeModule(raw: Uint8Array): ModuleInfo {
  const { bytes, gzipped } = gunzipIfNeeded(raw);
  try {
    return decodeSections(raw, bytes, gzipped);
  } catch (e) {
    if (e instanceof WasmDecodeError) e.moduleBytes = bytes;
    throw e;
  }
}

function decodeSections(raw: Uint8Array, bytes: Uint8Array, gzipped: boolean): ModuleInfo {
  const r = new Reader(bytes);
  const magic = r.take(4, 'the magic number');
  if (!WASM_MAGIC.every((b, i) => magic[i] === b)) r.fail('expected the magic number 00 61 73 6d', 0);
  const version = r.take(4, 'the version');
  if (!WASM_VERSION.every((b, i) => version[i] === b)) {
    r.fail(
      `unsupported binary version ${Array.from(version, (b) => b.toString(16).padStart(2, '0')).join(' ')}, expected 01 00 00 00`,
      4,
    );
  }

  const info: ModuleInfo = {
    rawBytes: raw,
    bytes,
    gzipped,
    sections: [],
    types: [],
    imports: [],
    functions: [],
    tables: [],
    memories: [],
    globals: [],
    exports: [],
    start: null,
    elementCount: 0,
    codeCount: 0,
    codeSectionSize: 0,
    dataSegments: [],
    dataCount: null,
    tagCount: 0,
    customSections: [],
    functionNames: new Map(),
    metadata: [],
    numImportedFunctions: 0,
    numImportedTables: 0,
    numImportedMemories: 0,
    numImportedGlobals: 0,
    isWasm64: false,
  };

  const seen = new Set<number>();
  let lastRank = 0;
  while (!r.eof()) {
    const start = r.pos;
    const id = r.byte('a section id');
    const size = r.u32('a section size');
    const contentStart = r.pos;
    if (size > bytes.length - contentStart) {
      r.fail(`section ${id} claims ${size} bytes but only ${bytes.length - contentStart} remain`, start);
    }
    const end = contentStart + size;
    info.sections.push({ id, start, contentStart, end });
    const s = new Reader(bytes, contentStart, end);
    if (id !== 0) {
      const rank = SECTION_RANK.get(id) ?? r.fail(`unknown section id ${id}`, start);
      if (seen.has(id)) r.fail(`duplicate section id ${id}`, start);
      if (rank < lastRank) r.fail(`section id ${id} out of order`, start);
      seen.add(id);
      lastRank = rank;
    }
    readSection(id, s, info);
    if (s.pos !== end) s.fail(`section ${id} has ${end - s.pos} unexpected trailing bytes`);
    r.pos = end;
  }

  if (info.functions.length !== info.codeCount) {
    throw new WasmDecodeError(
      `function and code section have inconsistent lengths: ${info.functions.length} functions, ${info.codeCount} bodies`,
      -1,
    );
  }

  const memoryImports = info.imports.filter((i) => i.kind === 'memory');
  const memory0 = memoryImports[0]?.kind === 'memory' ? memoryImports[0].memory : info.memories[0];
  info.isWasm64 = memory0?.is64 ?? false;

  for (const c of info.customSections) {
    if (c.name === 'name') readNameSection(bytes, c, info.functionNames);
    const meta = /^icp:(public|private) /.exec(c.name);
    if (meta) {
      info.metadata.push({
        name: c.name.slice(meta[0].length),
        visibility: meta[1] === 'public' ? 'public' : 'private',
        content: bytes.slice(c.payloadStart, c.payloadEnd),
      });
    }
  }
  return info;
}

/** Order of the non-custom sections (Core spec §5.5.2; tag section from the exception-handling proposal). */
export const SECTION_RANK: ReadonlyMap<number, number> = new Map([
  [1, 1], // type
  [2, 2], // import
  [3, 3], // function
  [4, 4], // table
  [5, 5], // memory
  [13, 6], // tag
  [6, 7], // global
  [7, 8], // export
  [8, 9], // start
  [9, 10], // element
  [12, 11], // data count
  [10, 12], // code
  [11, 13], // data
]);

function readSection(id: number, s: Reader, info: ModuleInfo): void {
  switch (id) {
    case 0: {
      const name = s.name('a custom section name');
      info.customSections.push({ name, payloadStart: s.pos, payloadEnd: s.end });
      s.pos = s.end;
      return;
    }
    case 1: {
      const n = s.u32('the type count');
      for (let i = 0; i < n; i++) {
        const at = s.pos;
        const form = s.byte('a type form');
        if (form !== 0x60)
          s.fail(`unsupported type form 0x${form.toString(16)} (only function types 0x60 are supported)`, at);
        const np = s.u32('a parameter count');
        const params: ValType[] = [];
        for (let j = 0; j < np; j++) params.push(valType(s));
        const nr = s.u32('a result count');
        const results: ValType[] = [];
        for (let j = 0; j < nr; j++) results.push(valType(s));
        info.types.push({ params, results });
      }
      return;
    }
    case 2: {
      const n = s.u32('the import count');
      for (let i = 0; i < n; i++) {
        const module = s.name('an import module name');
        const name = s.name('an import name');
        const at = s.pos;
        const kindByte = s.byte('an import kind');
        const kind = KIND_BY_BYTE[kindByte];
        if (kind === undefined) s.fail(`invalid import kind 0x${kindByte.toString(16)}`, at);
        switch (kind) {
          case 'func': {
            const tat = s.pos;
            const typeIndex = s.u32('a type index');
            if (typeIndex >= info.types.length)
              s.fail(
                `import ${module}.${name} refers to type ${typeIndex}, but there are ${info.types.length} types`,
                tat,
              );
            info.imports.push({ module, name, index: info.numImportedFunctions++, kind, typeIndex });
            break;
          }
          case 'table':
            info.imports.push({ module, name, index: info.numImportedTables++, kind, table: tableType(s) });
            break;
          case 'memory':
            info.imports.push({
              module,
              name,
              index: info.numImportedMemories++,
              kind,
              memory: limits(s, 'a memory'),
            });
            break;
          case 'global':
            info.imports.push({
              module,
              name,
              index: info.numImportedGlobals++,
              kind,
              global: globalType(s),
            });
            break;
          case 'tag': {
            s.byte('a tag attribute');
            const index = info.imports.filter((imp) => imp.kind === 'tag').length;
            info.imports.push({ module, name, index, kind, typeIndex: s.u32('a type index') });
            break;
          }
        }
      }
      return;
    }
    case 3: {
      const n = s.u32('the function count');
      for (let i = 0; i < n; i++) {
        const at = s.pos;
        const t = s.u32('a type index');
        if (t >= info.types.length)
          s.fail(
            `function ${info.numImportedFunctions + i} refers to type ${t}, but there are ${info.types.length} types`,
            at,
          );
        info.functions.push(t);
      }
      return;
    }
    case 4: {
      const n = s.u32('the table count');
      for (let i = 0; i < n; i++) {
        const at = s.pos;
        if (s.bytes[at] === 0x40) {
          // Table with an explicit initialiser (function-references proposal): 0x40 0x00 tabletype expr.
          s.pos += 1;
          if (s.byte('a reserved byte') !== 0) s.fail('expected 0x00 after 0x40 in a table', at);
          const t = tableType(s);
          constExpr(s, 'a table initialiser');
          info.tables.push(t);
        } else {
          info.tables.push(tableType(s));
        }
      }
      return;
    }
    case 5: {
      const n = s.u32('the memory count');
      for (let i = 0; i < n; i++) info.memories.push(limits(s, 'a memory'));
      return;
    }
    case 6: {
      const n = s.u32('the global count');
      for (let i = 0; i < n; i++) {
        const g = globalType(s);
        constExpr(s, 'a global initialiser');
        info.globals.push({ ...g, index: info.numImportedGlobals + i });
      }
      return;
    }
    case 7: {
      const n = s.u32('the export count');
      for (let i = 0; i < n; i++) {
        const name = s.name('an export name');
        const at = s.pos;
        const kindByte = s.byte('an export kind');
        const kind = KIND_BY_BYTE[kindByte];
        if (kind === undefined)
          s.fail(`invalid export kind 0x${kindByte.toString(16)} for export "${name}"`, at);
        info.exports.push({ name, kind, index: s.u32('an export index') });
      }
      return;
    }
    case 8:
      info.start = s.u32('the start function index');
      return;
    case 9:
      info.elementCount = s.u32('the element segment count');
      s.pos = s.end; // segments are not decoded
      return;
    case 10:
      info.codeSectionSize = s.end - s.pos;
      info.codeCount = s.u32('the code count');
      s.pos = s.end; // bodies are not decoded
      return;
    case 11: {
      const n = s.u32('the data segment count');
      for (let i = 0; i < n; i++) {
        const at = s.pos;
        const flags = s.u32('data segment flags');
        let seg: DataSegmentInfo;
        if (flags === 0) {
          const offset = constExpr(s, 'a data segment offset');
          seg = { mode: 'active', memoryIndex: 0, offset, size: 0 };
        } else if (flags === 1) {
          seg = { mode: 'passive', memoryIndex: 0, offset: null, size: 0 };
        } else if (flags === 2) {
          const memoryIndex = s.u32('a memory index');
          const offset = constExpr(s, 'a data segment offset');
          seg = { mode: 'active', memoryIndex, offset, size: 0 };
        } else {
          return s.fail(`invalid data segment flags ${flags}`, at);
        }
        seg.size = s.u32('a data segment size');
        s.take(seg.size, 'data segment contents');
        info.dataSegments.push(seg);
      }
      return;
    }
    case 12:
      info.dataCount = s.u32('the data count');
      return;
    case 13: {
      const n = s.u32('the tag count');
      for (let i = 0; i < n; i++) {
        s.byte('a tag attribute');
        s.u32('a type index');
      }
      info.tagCount = n;
      return;
    }
    default:
      s.fail(`unknown section id ${id}`, s.pos);
  }
}

/**
 * Reads subsection 1 (function names) of the `name` section. A malformed name
 * section is ignored, as engines do (it is a custom section).
 */
function readNameSection(bytes: Uint8Array, c: CustomSectionInfo, out: Map<number, string>): void {
  const names = new Map<number, string>();
  try {
    const r = new Reader(bytes, c.payloadStart, c.payloadEnd);
    while (!r.eof()) {
      const sub = r.byte('a name subsection id');
      const size = r.u32('a name subsection size');
      const end = r.pos + size;
      if (end > r.end) return;
      if (sub === 1) {
        const sr = new Reader(bytes, r.pos, end);
        const n = sr.u32('the function name count');
        for (let i = 0; i < n; i++) {
          const idx = sr.u32('a function index');
          names.set(idx, sr.name('a function name'));
        }
      }
      r.pos = end;
    }
  } catch (e) {
    if (!(e instanceof WasmDecodeError)) throw e;
  }
  for (const [k, v] of names) out.set(k, v);
}

/** The type of function `index` (imports first), or undefined if out of range. */
export function functionType(info: ModuleInfo, index: number): FuncType | undefined {
  if (index < info.numImportedFunctions) {
    const imp = info.imports.find((i) => i.kind === 'func' && i.index === index);
    return imp?.kind === 'func' ? info.types[imp.typeIndex] : undefined;
  }
  const t = info.functions[index - info.numImportedFunctions];
  return t === undefined ? undefined : info.types[t];
}
