/**
 * Hash trees of the IC interface specification ("Certification", "Encoding
 * of certificates"): a labeled tree (the state tree), its root hash, the
 * witness that reveals requested paths, and lookups.
 *
 *   reconstruct(Empty)       = H(0x11 "ic-hashtree-empty")
 *   reconstruct(Fork l r)    = H(0x10 "ic-hashtree-fork"    ‖ reconstruct(l) ‖ reconstruct(r))
 *   reconstruct(Labeled k t) = H(0x13 "ic-hashtree-labeled" ‖ k ‖ reconstruct(t))
 *   reconstruct(Leaf v)      = H(0x10 "ic-hashtree-leaf"    ‖ v)
 *   reconstruct(Pruned h)    = h
 *
 * The children of a node are sorted by label and folded into a balanced fork
 * tree; a witness uses exactly the same shape, with everything not asked for
 * pruned, so its root hash equals the full tree's.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { isRecord, type CborData } from './cbor.ts';
import { compareBytes, concatBytes, toHex } from '../bytes.ts';

export type HashTree =
  | readonly [0]
  | readonly [1, HashTree, HashTree]
  | readonly [2, Uint8Array, HashTree]
  | readonly [3, Uint8Array]
  | readonly [4, Uint8Array];

/** A node of a labeled tree: a leaf value, or children sorted by label. */
export type LabeledTree = Uint8Array | SubTree;

export class SubTree {
  /** Children sorted by label, labels unique. */
  readonly children: readonly (readonly [Uint8Array, LabeledTree])[];
  constructor(children: readonly (readonly [Uint8Array, LabeledTree])[]) {
    this.children = children;
  }
}

const utf8 = new TextEncoder();

/** `byte(len(s)) ‖ s`: the IC's domain separators. */
export function domainSep(s: string): Uint8Array {
  const b = utf8.encode(s);
  return concatBytes([Uint8Array.of(b.length), b]);
}

const EMPTY = domainSep('ic-hashtree-empty');
const FORK = domainSep('ic-hashtree-fork');
const LABELED = domainSep('ic-hashtree-labeled');
const LEAF = domainSep('ic-hashtree-leaf');
const EMPTY_HASH = sha256(EMPTY);

export type Label = Uint8Array | string;

export function label(l: Label): Uint8Array {
  return typeof l === 'string' ? utf8.encode(l) : l;
}

/** A subtree from unordered entries (later duplicates win). */
export function subtree(entries: Iterable<readonly [Label, LabeledTree]>): SubTree {
  const byLabel = new Map<string, readonly [Uint8Array, LabeledTree]>();
  for (const [l, t] of entries) {
    const b = label(l);
    byLabel.set(toHex(b), [b, t]);
  }
  return new SubTree([...byLabel.values()].sort((a, b) => compareBytes(a[0], b[0])));
}

export function leafHash(value: Uint8Array): Uint8Array {
  return sha256(concatBytes([LEAF, value]));
}

export function forkHash(l: Uint8Array, r: Uint8Array): Uint8Array {
  return sha256(concatBytes([FORK, l, r]));
}

export function labeledHash(l: Uint8Array, sub: Uint8Array): Uint8Array {
  return sha256(concatBytes([LABELED, l, sub]));
}

/** Folds a level's nodes into forks, balanced; the same shape for hashes, full trees and witnesses. */
function fold<T>(items: readonly T[], fork: (l: T, r: T) => T, empty: T): T {
  if (items.length === 0) return empty;
  if (items.length === 1) return items[0]!;
  const mid = Math.ceil(items.length / 2);
  return fork(fold(items.slice(0, mid), fork, empty), fold(items.slice(mid), fork, empty));
}

const hashCache = new WeakMap<SubTree, Uint8Array>();

/** The root hash of a labeled tree (memoized per subtree object). */
export function treeHash(tree: LabeledTree): Uint8Array {
  if (tree instanceof Uint8Array) return leafHash(tree);
  const cached = hashCache.get(tree);
  if (cached) return cached;
  const h = fold(
    tree.children.map(([l, t]) => labeledHash(l, treeHash(t))),
    forkHash,
    EMPTY_HASH,
  );
  hashCache.set(tree, h);
  return h;
}

/** The whole labeled tree as a hash tree. */
export function fullTree(tree: LabeledTree): HashTree {
  if (tree instanceof Uint8Array) return [3, tree];
  return fold<HashTree>(
    tree.children.map(([l, t]) => [2, l, fullTree(t)] as const),
    (a, b) => [1, a, b],
    [0],
  );
}

/** Requested paths as a trie; `true` = reveal everything below. */
type PathTrie = Map<string, { label: Uint8Array; next: PathTrie | true }>;

function buildTrie(paths: readonly (readonly Uint8Array[])[]): PathTrie | true {
  const root: PathTrie = new Map();
  for (const path of paths) {
    if (path.length === 0) return true;
    let node: PathTrie = root;
    for (let i = 0; i < path.length; i++) {
      const key = toHex(path[i]!);
      const last = i === path.length - 1;
      const existing = node.get(key);
      if (existing?.next === true) break;
      if (last) {
        node.set(key, { label: path[i]!, next: true });
        break;
      }
      let next: PathTrie;
      if (existing) next = existing.next as PathTrie;
      else {
        next = new Map();
        node.set(key, { label: path[i]!, next });
      }
      node = next;
    }
  }
  return root;
}

/**
 * A witness revealing `paths` (each a list of labels): full subtrees where a
 * path ends, the labels on the way, and for a missing label its neighbours
 * (with pruned contents) as proof of absence; everything else is pruned.
 */
export function witness(tree: LabeledTree, paths: readonly (readonly Uint8Array[])[]): HashTree {
  return witnessNode(tree, buildTrie(paths));
}

function witnessNode(tree: LabeledTree, trie: PathTrie | true): HashTree {
  if (trie === true || tree instanceof Uint8Array) return fullTree(tree);
  const children = tree.children;
  const reveal = new Map<number, HashTree>();
  for (const { label: l, next } of trie.values()) {
    // Binary search for the label or its insertion point.
    let lo = 0;
    let hi = children.length;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (compareBytes(children[m]![0], l) < 0) lo = m + 1;
      else hi = m;
    }
    if (lo < children.length && compareBytes(children[lo]![0], l) === 0) {
      reveal.set(lo, [2, l, witnessNode(children[lo]![1], next)]);
    } else {
      // Absent: show the neighbours' labels so the gap is proven.
      for (const k of [lo - 1, lo]) {
        if (k >= 0 && k < children.length && !reveal.has(k)) {
          const [cl, ct] = children[k]!;
          reveal.set(k, [2, cl, [4, treeHash(ct)]]);
        }
      }
    }
  }
  const nodes: HashTree[] = children.map(([l, t], i) => reveal.get(i) ?? [4, labeledHash(l, treeHash(t))]);
  return fold<HashTree>(
    nodes,
    (a, b) => (a[0] === 4 && b[0] === 4 ? [4, forkHash(a[1], b[1])] : [1, a, b]),
    [0],
  );
}

export function reconstruct(t: HashTree): Uint8Array {
  switch (t[0]) {
    case 0:
      return EMPTY_HASH;
    case 1:
      return forkHash(reconstruct(t[1]), reconstruct(t[2]));
    case 2:
      return labeledHash(t[1], reconstruct(t[2]));
    case 3:
      return leafHash(t[1]);
    case 4:
      return t[1];
  }
}

/** Parses a CBOR-decoded hash tree, checking its shape. */
export function parseHashTree(v: CborData, depth = 0): HashTree {
  if (depth > 256 || !Array.isArray(v) || typeof v[0] !== 'number') throw new Error('malformed hash tree');
  const bytes = (x: CborData): Uint8Array => {
    if (!(x instanceof Uint8Array)) throw new Error('malformed hash tree');
    return x;
  };
  switch (v[0]) {
    case 0:
      return [0];
    case 1:
      return [1, parseHashTree(v[1], depth + 1), parseHashTree(v[2], depth + 1)];
    case 2:
      return [2, bytes(v[1]), parseHashTree(v[2], depth + 1)];
    case 3:
      return [3, bytes(v[1])];
    case 4: {
      const h = bytes(v[1]);
      if (h.length !== 32) throw new Error('malformed hash tree: pruned hash is not 32 bytes');
      return [4, h];
    }
    default:
      throw new Error(`malformed hash tree: node type ${String(v[0])}`);
  }
}

export function isHashTreeData(v: CborData): boolean {
  return Array.isArray(v) && !isRecord(v);
}

export type LookupResult =
  | { status: 'found'; value: Uint8Array }
  | { status: 'found-subtree'; tree: HashTree }
  | { status: 'absent' }
  | { status: 'unknown' }
  | { status: 'error' };

/** The labeled nodes and pruned nodes of one level (forks flattened). */
function flatten(t: HashTree, out: HashTree[] = []): HashTree[] {
  if (t[0] === 1) {
    flatten(t[1], out);
    flatten(t[2], out);
  } else if (t[0] !== 0) out.push(t);
  return out;
}

/** `lookup_path` of the specification; a path ending at a subtree answers `found-subtree`. */
export function lookupPath(tree: HashTree, path: readonly Label[]): LookupResult {
  let t = tree;
  for (const l of path.map(label)) {
    const level = flatten(t);
    const hit = level.find((n) => n[0] === 2 && compareBytes(n[1], l) === 0);
    if (hit && hit[0] === 2) {
      t = hit[2];
      continue;
    }
    if (level.some((n) => n[0] === 3)) return { status: 'error' };
    return level.some((n) => n[0] === 4) ? { status: 'unknown' } : { status: 'absent' };
  }
  if (t[0] === 3) return { status: 'found', value: t[1] };
  if (t[0] === 4) return { status: 'unknown' };
  return { status: 'found-subtree', tree: t };
}

/** The labels of the direct children revealed at `path`'s subtree. */
export function childLabels(tree: HashTree): Uint8Array[] {
  return flatten(tree)
    .filter((n): n is readonly [2, Uint8Array, HashTree] => n[0] === 2)
    .map((n) => n[1]);
}
