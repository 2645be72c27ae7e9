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

/**
 * Mainnet canister ranges of the named subnets (values not yet checked against
 * PocketIC's `get_range_config`; only NNS = 0..2^20−1 is certain), which PocketIC gives them in
 * addition to one fresh allocation range (`get_range_config`): NNS holds
 * canister ids 0..2^20−1, II 0x2100000..0x21FFFFF, SNS 0x2000000..0x20FFFFF,
 * Fiduciary 0x2300000..0x23FFFFF, Bitcoin 0x1A00000..0x1AFFFFF.
 */
export const MAINNET_RANGES: Record<string, IdRange> = {
  NNS: { start: 0n, end: 0xfffffn },
  SNS: { start: 0x2000000n, end: 0x20fffffn },
  II: { start: 0x2100000n, end: 0x21fffffn },
  Fiduciary: { start: 0x2300000n, end: 0x23fffffn },
  Bitcoin: { start: 0x1a00000n, end: 0x1afffffn },
};
