/**
 * Canister id ranges as PocketIC hands them out (`RangeGen::next_range` in
 * dfinity/ic `rs/pocket_ic_server/src/pocket_ic.rs`): ranges of 2^20 ids taken
 * from the top of the u64 space, range k = [(2^44−2−k)·2^20, (2^44−1−k)·2^20 − 1].
 * A canister id is the u64 big-endian followed by 0x01 0x01.
 */
import { Principal } from '@icp-sdk/core/principal';

export const RANGE_SIZE = 1n << 20n;

export interface IdRange {
  start: bigint;
  end: bigint;
}

export function freshRange(k: number): IdRange {
  const start = ((1n << 44n) - 2n - BigInt(k)) * RANGE_SIZE;
  return { start, end: start + RANGE_SIZE - 1n };
}

export function canisterIdFromIndex(index: bigint): Principal {
  const bytes = new Uint8Array(10);
  new DataView(bytes.buffer).setBigUint64(0, index);
  bytes[8] = 1;
  bytes[9] = 1;
  return Principal.fromUint8Array(bytes);
}

/** The u64 of an opaque canister id, or undefined when the principal is not one. */
export function canisterIndex(id: Principal): bigint | undefined {
  const bytes = id.toUint8Array();
  if (bytes.length !== 10 || bytes[8] !== 1 || bytes[9] !== 1) return undefined;
  return new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0);
}

export function inRange(id: Principal, range: IdRange): boolean {
  const index = canisterIndex(id);
  return index !== undefined && index >= range.start && index <= range.end;
}

const textRange = (start: string, end: string): IdRange => ({
  start: canisterIndex(Principal.fromText(start))!,
  end: canisterIndex(Principal.fromText(end))!,
});

/**
 * Mainnet canister ranges of the named subnets, which PocketIC gives them in
 * addition to one fresh allocation range (`subnet_kind_canister_range` and
 * `get_range_config` in dfinity/ic `rs/pocket_ic_server/src/pocket_ic.rs`):
 * the NNS hosts its system canisters except Internet Identity (`rdmx6-…`),
 * which lives on the II subnet.
 */
export const MAINNET_RANGES: Record<string, IdRange[]> = {
  NNS: [
    textRange('rwlgt-iiaaa-aaaaa-aaaaa-cai', 'renrk-eyaaa-aaaaa-aaada-cai'),
    textRange('qoctq-giaaa-aaaaa-aaaea-cai', 'n5n4y-3aaaa-aaaaa-p777q-cai'),
  ],
  II: [
    textRange('rdmx6-jaaaa-aaaaa-aaadq-cai', 'rdmx6-jaaaa-aaaaa-aaadq-cai'),
    textRange('uc7f6-kaaaa-aaaaq-qaaaa-cai', 'ijz7v-ziaaa-aaaaq-7777q-cai'),
  ],
  Bitcoin: [textRange('g3wsl-eqaaa-aaaan-aaaaa-cai', '2qqia-xyaaa-aaaan-p777q-cai')],
  Fiduciary: [textRange('mf7xa-laaaa-aaaar-qaaaa-cai', 'qoznl-yiaaa-aaaar-7777q-cai')],
  SNS: [textRange('ybpmr-kqaaa-aaaaq-aaaaa-cai', 'ekjw2-zyaaa-aaaaq-p777q-cai')],
};
