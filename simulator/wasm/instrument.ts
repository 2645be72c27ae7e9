/**
 * Binary rewriting so that the simulator can reach from JavaScript what it
 * needs, in the spirit of the IC's instrumentation (dfinity/ic
 * `rs/embedders/src/wasm_utils/instrumentation.rs`, module doc comment):
 *
 * - table 0 is exported as `"table"` (the IC's `export_table`): callbacks are
 *   table indices, and toolchains such as the Azle template do not export it;
 * - memory 0 is exported as `"memory"` (the IC exports the heap as `memory`);
 * - every mutable global gets an export, `"__icsim_global_<index>"` unless it
 *   already has one, so that globals can be snapshotted and rolled back;
 * - the start section is removed and its function exported as
 *   `"canister_start"` (the IC does the same), so the simulator runs it itself
 *   after instantiation, in the `(start)` context;
 * - instruction metering (`meter.ts`): a mutable i64 global is appended to
 *   the global section and exported as `"canister counter_instructions"`, and
 *   every function body decrements it (the IC's `inject_metering`); functions
 *   with loops get one more local, the counter while they run;
 * - dirty-page tracking of the heap (`dirty-pages.ts`): a byte map memory, a
 *   table for the host's two callbacks and their two types are appended and
 *   exported, and every instruction that writes memory 0 is preceded by a
 *   check that has the host save the page first; functions that write get
 *   scratch locals.
 *
 * The export, global and code sections are re-encoded (and the start section
 * dropped), and with dirty-page tracking the type, table and memory sections
 * get one more entry at their end; every other section is copied byte for
 * byte. No function, type, table, memory or global index moves (locals are
 * appended after a function's own), so the name section and element segments
 * stay valid; only code offsets change (DWARF sections, if any, no longer
 * match).
 */
import { concatBytes } from '../bytes.ts';
import { ByteWriter, encodeSection } from './binary.ts';
import { Reader, SECTION_RANK, type ExportInfo, type ExternKind, type ModuleInfo } from './decode.ts';
import {
  BYTEMAP_EXPORT,
  bytemapMemory,
  CALLBACKS_EXPORT,
  callbacksTable,
  callbackTypes,
  type DirtyPageCode,
} from './dirty-pages.ts';
import {
  appendCounterGlobal,
  INSTRUCTION_COUNTER_EXPORT,
  meterCodeSection,
  type MeterOptions,
} from './meter.ts';

export interface GlobalExport {
  /** Index in the global index space. */
  index: number;
  /** Export name under which the instrumented module exposes it. */
  name: string;
}

export interface InstrumentedModule {
  /** The rewritten module (uncompressed). */
  bytes: Uint8Array;
  /** Export name of table 0, or null when the module has no table. */
  tableExport: string | null;
  /** Export name of memory 0, or null when the module has no memory. */
  memoryExport: string | null;
  /** `"canister_start"` when the module had a start function, else null. */
  startExport: string | null;
  /** Every mutable global and the name it is exported under, by index. */
  globalExports: GlobalExport[];
  /** Names of the mutable-global exports (same order as `globalExports`). */
  exportedGlobals: string[];
  /** Export name of the instruction counter (`"canister counter_instructions"`), or null without metering. */
  counterExport: string | null;
  /** Index of the instruction counter in the global index space, or null without metering. */
  counterGlobal: number | null;
  /** Number of charges inserted into the code (0 without metering). */
  meteringCharges: number;
  /** Export name of the dirty-page byte map memory, or null without dirty-page tracking. */
  bytemapExport: string | null;
  /** Export name of the dirty-page callbacks table, or null without dirty-page tracking. */
  callbacksExport: string | null;
  /** Number of heap writes given a dirty-page check (0 without tracking). */
  writeChecks: number;
}

export interface InstrumentOptions extends MeterOptions {
  /** Insert instruction metering (default true). */
  metering?: boolean;
  /** Track the heap pages each message writes (`dirty-pages.ts`; default true; modules without memory have none). */
  dirtyPages?: boolean;
}

export class InstrumentationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InstrumentationError';
  }
}

export const TABLE_EXPORT = 'table';
export const MEMORY_EXPORT = 'memory';
export const START_EXPORT = 'canister_start';
export const GLOBAL_EXPORT_PREFIX = '__icsim_global_';

const KIND_BYTE: Readonly<Record<ExternKind, number>> = { func: 0, table: 1, memory: 2, global: 3, tag: 4 };

function encodeExportSection(exports: readonly ExportInfo[]): Uint8Array {
  const enc = new TextEncoder();
  const w = new ByteWriter();
  w.uleb(exports.length);
  for (const e of exports) {
    w.vec(enc.encode(e.name));
    w.byte(KIND_BYTE[e.kind]);
    w.uleb(e.index);
  }
  return encodeSection(7, w.bytes());
}

/** Section `id` of `info` (or an empty one) with `entries` appended after its own. */
function appendEntries(info: ModuleInfo, id: number, entries: readonly Uint8Array[]): Uint8Array {
  const existing = info.sections.find((x) => x.id === id);
  const w = new ByteWriter(64 + (existing ? existing.end - existing.contentStart : 0));
  let count = 0;
  let rest = 0;
  if (existing) {
    const r = new Reader(info.bytes, existing.contentStart, existing.end);
    count = r.u32('an entry count');
    rest = r.pos;
  }
  w.uleb(count + entries.length);
  if (existing) w.copy(info.bytes, rest, existing.end);
  for (const e of entries) w.copy(e, 0, e.length);
  return encodeSection(id, w.bytes());
}

/**
 * Rewrites `info.bytes` as described in the module comment and reports under
 * which names table 0, memory 0, the start function and the mutable globals
 * are exported. Throws {@link InstrumentationError} when a needed export name
 * is already taken by something else.
 */
export function instrumentModule(info: ModuleInfo, options: InstrumentOptions = {}): InstrumentedModule {
  const exports: ExportInfo[] = info.exports.map((e) => ({ ...e }));
  const byName = new Map(exports.map((e) => [e.name, e]));
  const ensure = (name: string, kind: ExternKind, index: number): void => {
    const existing = byName.get(name);
    if (existing === undefined) {
      const e = { name, kind, index };
      exports.push(e);
      byName.set(name, e);
    } else if (existing.kind !== kind || existing.index !== index) {
      throw new InstrumentationError(
        `cannot export ${kind} ${index} as "${name}": the module already exports ${existing.kind} ${existing.index} under that name`,
      );
    }
  };

  const numTables = info.numImportedTables + info.tables.length;
  const tableExport = numTables > 0 ? TABLE_EXPORT : null;
  if (tableExport !== null) ensure(tableExport, 'table', 0);

  const numMemories = info.numImportedMemories + info.memories.length;
  const memoryExport = numMemories > 0 ? MEMORY_EXPORT : null;
  if (memoryExport !== null) ensure(memoryExport, 'memory', 0);

  const startExport = info.start !== null ? START_EXPORT : null;
  if (info.start !== null) ensure(START_EXPORT, 'func', info.start);

  const globalExports: GlobalExport[] = [];
  const mutableGlobals = [
    ...info.imports.flatMap((i) => (i.kind === 'global' && i.global.mutable ? [i.index] : [])),
    ...info.globals.filter((g) => g.mutable).map((g) => g.index),
  ];
  for (const index of mutableGlobals) {
    const existing = exports.find((e) => e.kind === 'global' && e.index === index);
    if (existing !== undefined) {
      globalExports.push({ index, name: existing.name });
    } else {
      const name = `${GLOBAL_EXPORT_PREFIX}${index}`;
      ensure(name, 'global', index);
      globalExports.push({ index, name });
    }
  }

  // Section id → replacement (null: dropped). Replacements of absent sections are inserted in order.
  const replaced = new Map<number, Uint8Array | null>([[8, null]]); // start: exported as canister_start instead
  let counterExport: string | null = null;
  let counterGlobal: number | null = null;
  let meteringCharges = 0;
  if (options.metering ?? true) {
    const global = appendCounterGlobal(info);
    counterGlobal = global.index;
    counterExport = INSTRUCTION_COUNTER_EXPORT;
    ensure(counterExport, 'global', counterGlobal);
    replaced.set(6, global.section);
  }
  let dirty: DirtyPageCode | undefined;
  if ((options.dirtyPages ?? true) && numMemories > 0) {
    dirty = {
      wasm64: info.isWasm64,
      bytemap: numMemories,
      table: numTables,
      pageType: info.types.length,
      rangeType: info.types.length + 1,
    };
    replaced.set(1, appendEntries(info, 1, callbackTypes(info.isWasm64)));
    replaced.set(4, appendEntries(info, 4, [callbacksTable()]));
    replaced.set(5, appendEntries(info, 5, [bytemapMemory(info.isWasm64)]));
    ensure(BYTEMAP_EXPORT, 'memory', dirty.bytemap);
    ensure(CALLBACKS_EXPORT, 'table', dirty.table);
  }
  let writeChecks = 0;
  if (counterGlobal !== null || dirty !== undefined) {
    const code = meterCodeSection(info, counterGlobal, options, dirty);
    if (code !== null) {
      replaced.set(10, code.section);
      meteringCharges = code.charges;
      writeChecks = code.writeChecks;
    }
  }
  replaced.set(7, encodeExportSection(exports));

  const chunks: Uint8Array[] = [info.bytes.subarray(0, 8)];
  const pending = [...replaced.entries()]
    .filter(([id, bytes]) => bytes !== null && !info.sections.some((s) => s.id === id))
    .sort(([a], [b]) => (SECTION_RANK.get(a) ?? 0) - (SECTION_RANK.get(b) ?? 0));
  const insertBefore = (rank: number): void => {
    while (pending.length > 0 && (SECTION_RANK.get(pending[0]![0]) ?? 0) < rank) {
      chunks.push(pending.shift()![1]!);
    }
  };
  for (const s of info.sections) {
    if (s.id !== 0) insertBefore(SECTION_RANK.get(s.id) ?? 0);
    const replacement = replaced.get(s.id);
    if (replacement === null) continue;
    chunks.push(replacement ?? info.bytes.subarray(s.start, s.end));
  }
  insertBefore(Infinity);

  return {
    bytes: concatBytes(chunks),
    tableExport,
    memoryExport,
    startExport,
    globalExports,
    exportedGlobals: globalExports.map((g) => g.name),
    counterExport,
    counterGlobal,
    meteringCharges,
    bytemapExport: dirty === undefined ? null : BYTEMAP_EXPORT,
    callbacksExport: dirty === undefined ? null : CALLBACKS_EXPORT,
    writeChecks,
  };
}
