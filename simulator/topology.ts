/**
 * An instance's topology, fixed by its config alone: which subnets, in which
 * order, with which keys, ids and canister ranges. Pure and light (no
 * canister, no execution): `Instance.create` builds its subnets from these
 * plans, and the server's main thread, which never loads the core, answers
 * `POST /instances` with the same topology while the instance's worker is
 * still loading it.
 */
import { Principal } from '@icp-sdk/core/principal';
import { createHash } from 'node:crypto';
import { concatBytes, fromHex } from './bytes.ts';
import { bls12_381 } from './curves.ts';
import { InstanceError } from './errors.ts';
import type { InstanceConfig, SubnetKind, Topology } from './types.ts';
import { MAINNET_RANGES, canisterIdFromIndex, freshRange, type IdRange } from './subnet/ranges.ts';
import { SUBNET_PUBLIC_KEYS } from './subnet/subnet-keys.ts';

/** Range consumption order of PocketIC (`pocket_ic.rs`). */
const KIND_ORDER: SubnetKind[] = [
  'NNS',
  'SNS',
  'II',
  'Fiduciary',
  'Bitcoin',
  'System',
  'Application',
  'VerifiedApplication',
];
/** Kinds an instance has at most one of. */
const NAMED: SubnetKind[] = ['NNS', 'SNS', 'II', 'Fiduciary', 'Bitcoin'];

/** Node counts PocketIC gives each kind (`subnet_size` in `pocket_ic.rs`). */
export const SUBNET_SIZES: Record<SubnetKind, number> = {
  Application: 13,
  VerifiedApplication: 13,
  System: 13,
  Bitcoin: 13,
  Fiduciary: 34,
  SNS: 34,
  II: 34,
  NNS: 40,
};

/**
 * The registry's `max_ingress_bytes_per_message` of each kind, as PocketIC sets up its subnets:
 * kinds map to subnet types by `conv_type` (`rs/pocket_ic_server/src/pocket_ic.rs`: Application,
 * Fiduciary and SNS are application subnets; Bitcoin, II, NNS and System are system subnets), and
 * each type gets 2 MiB (application, verified application) or 3.5 MiB (system)
 * (`rs/state_machine_tests/src/lib.rs`; the same values as `MAX_INGRESS_BYTES_PER_MESSAGE_APP_SUBNET`
 * and `_NNS_SUBNET` in `rs/limits/src/lib.rs`).
 */
const MAX_INGRESS_BYTES: Record<SubnetKind, number> = {
  Application: 2 * 1024 * 1024,
  VerifiedApplication: 2 * 1024 * 1024,
  Fiduciary: 2 * 1024 * 1024,
  SNS: 2 * 1024 * 1024,
  System: 3.5 * 1024 * 1024,
  Bitcoin: 3.5 * 1024 * 1024,
  II: 3.5 * 1024 * 1024,
  NNS: 3.5 * 1024 * 1024,
};

/** DER prefix of an IC BLS12-381 G2 public key, 133 bytes in all (IC interface specification, "Certification"). */
export const BLS_DER_PREFIX = fromHex(
  '308182301d060d2b0601040182dc7c0503010201060c2b0601040182dc7c05030201036100',
);

const SEED_PREFIX = 'icsim subnet ';
const SELF_AUTHENTICATING = new Uint8Array([0x02]);

/**
 * Node's native hashes: the server's main thread computes a topology once per `POST /instances`,
 * where noble's JavaScript SHA-2, not yet optimized by the JIT, costs several milliseconds.
 */
const digest = (algorithm: 'sha224' | 'sha256', data: Uint8Array): Uint8Array =>
  new Uint8Array(createHash(algorithm).update(data).digest());
/** Keys computed at run time, by seed label: labels are deterministic, so every instance reuses them. */
const KEYS = new Map<string, Uint8Array>();

/** sk·G2, compressed. */
function blsPublicKey(secretKey: Uint8Array): Uint8Array {
  const { G2 } = bls12_381();
  // A copy of the generator: noble builds a ~250 ms precomputation table for `BASE` itself on its
  // first multiplication; double-and-add on a copy gives the same point.
  return G2.Point.BASE.add(G2.Point.ZERO).multiplyUnsafe(G2.Point.Fn.fromBytes(secretKey)).toBytes(true);
}

/** The DER-encoded BLS public key (133 bytes) of the subnet whose secret key is `sha256(label)`. */
function publicKeyDer(label: string, seed: Uint8Array): Uint8Array {
  let der = KEYS.get(label);
  if (!der) {
    const known = SUBNET_PUBLIC_KEYS[label.slice(SEED_PREFIX.length)];
    der = concatBytes([BLS_DER_PREFIX, known ? fromHex(known) : blsPublicKey(seed)]);
    KEYS.set(label, der);
  }
  return der;
}

/** One subnet as its config fixes it. */
export interface SubnetPlan {
  readonly kind: SubnetKind;
  /** Position in the instance (PocketIC's order of kinds), which picks its key and ranges. */
  readonly index: number;
  readonly id: Principal;
  /** The subnet's BLS secret key: certificates of its state are signed with it. */
  readonly seed: Uint8Array;
  readonly publicKeyDer: Uint8Array;
  readonly instructionConfig: 'Production' | 'Benchmarking';
  readonly costSchedule: 'Normal' | 'Free';
  /** All ranges the subnet hosts; the last one is where new canisters are allocated. */
  readonly ranges: IdRange[];
  readonly allocationRange: IdRange;
  readonly maxIngressBytesPerMessage: number;
}

/** One subnet of `kind` at position `index`, with the given ranges (one fresh allocation range by default). */
export function planSubnet(options: {
  kind: SubnetKind;
  index: number;
  ranges?: IdRange[];
  allocationRange?: IdRange;
  instructionConfig?: 'Production' | 'Benchmarking';
  costSchedule?: 'Normal' | 'Free';
}): SubnetPlan {
  const label = `${SEED_PREFIX}${options.index} ${options.kind}`;
  const seed = digest('sha256', new TextEncoder().encode(label));
  const der = publicKeyDer(label, seed);
  const allocationRange = options.allocationRange ?? freshRange(options.index);
  return {
    kind: options.kind,
    index: options.index,
    // The self-authenticating id of the subnet's key (SHA-224 of the DER key, then 0x02: interface
    // specification, "Principals"), as PocketIC derives subnet ids from generated keys.
    id: Principal.fromUint8Array(concatBytes([digest('sha224', der), SELF_AUTHENTICATING])),
    seed,
    publicKeyDer: der,
    instructionConfig: options.instructionConfig ?? 'Production',
    costSchedule: options.costSchedule ?? 'Normal',
    ranges: options.ranges ?? [allocationRange],
    allocationRange,
    maxIngressBytesPerMessage: MAX_INGRESS_BYTES[options.kind],
  };
}

/**
 * The subnets of an instance with `config`, ordered and given canister ranges
 * as PocketIC does: named subnets also host their mainnet ranges.
 * @throws InstanceError `BadConfig` for an empty subnet list or a named kind given twice.
 */
export function planSubnets(config: InstanceConfig): SubnetPlan[] {
  if (config.subnets.length === 0)
    throw new InstanceError('BadConfig', 'an instance needs at least one subnet');
  const ordered = [...config.subnets].sort((a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind));
  for (const kind of NAMED) {
    if (ordered.filter((s) => s.kind === kind).length > 1)
      throw new InstanceError('BadConfig', `at most one ${kind} subnet`);
  }
  return ordered.map((spec, index) => {
    const allocationRange = freshRange(index);
    const mainnet = MAINNET_RANGES[spec.kind];
    return planSubnet({
      kind: spec.kind,
      index,
      ranges: mainnet ? [...mainnet, allocationRange] : [allocationRange],
      allocationRange,
      instructionConfig: spec.instructionConfig,
      costSchedule: spec.costSchedule,
    });
  });
}

/** The subnet that canisters go to by default: where PocketIC's default effective canister id lies. */
export function defaultSubnet<S extends SubnetPlan>(subnets: readonly S[]): S {
  return (
    subnets.find((x) => x.kind === 'Application') ??
    subnets.find((x) => x.kind === 'VerifiedApplication') ??
    subnets.find((x) => x.kind === 'System') ??
    subnets[0]!
  );
}

/** The topology PocketIC reports for these subnets (`/_/topology`). */
export function topologyOf(subnets: readonly SubnetPlan[]): Topology {
  return {
    subnets: subnets.map((s) => ({
      id: s.id,
      kind: s.kind,
      size: SUBNET_SIZES[s.kind],
      seed: s.seed,
      instructionConfig: s.instructionConfig,
      canisterRanges: s.ranges.map((r) => ({
        start: canisterIdFromIndex(r.start),
        end: canisterIdFromIndex(r.end),
      })),
      maxIngressBytesPerMessage: s.maxIngressBytesPerMessage,
    })),
    defaultEffectiveCanisterId: canisterIdFromIndex(defaultSubnet(subnets).allocationRange.start),
  };
}
