/**
 * The simulator's one source of randomness (`raw_rand`, the nonces of threshold signatures and
 * vetKD encryptions). Everything else the simulator does is deterministic, so a persisted
 * instance (`simulator/persist/`) that records the bytes drawn here, and the wall-clock readings
 * of auto progress, replays to exactly the state it had.
 */
import { randomBytes as cryptoRandomBytes } from 'node:crypto';

type Source = (length: number) => Uint8Array;

/** Bytes from the operating system's generator, whatever the current source. */
export const freshRandomBytes: Source = (length) => new Uint8Array(cryptoRandomBytes(length));
const fresh = freshRandomBytes;
let source: Source = fresh;

/** `length` random bytes from the current source. */
export function randomBytes(length: number): Uint8Array {
  return source(length);
}

/**
 * Makes `draw` the source of randomness until it is set again (`undefined`: fresh bytes). For
 * draws outside any call the caller can wrap (a round that auto progress runs on a timer).
 */
export function setEntropySource(draw: Source | undefined): void {
  source = draw ?? fresh;
}

/**
 * Runs `f` with `draw` as the source of randomness (synchronously: the simulator core never
 * awaits), then puts the previous source back.
 */
export function withEntropy<T>(draw: Source, f: () => T): T {
  const previous = source;
  source = draw;
  try {
    return f();
  } finally {
    source = previous;
  }
}

/** A source that takes fresh bytes and appends each draw to `tape`. */
export function recordingTo(tape: Uint8Array[]): Source {
  return (length) => {
    const bytes = fresh(length);
    tape.push(bytes);
    return bytes;
  };
}

/** A source that gives back the draws of `tape` in order (fresh bytes once it runs out, or for a draw of another length). */
export function replaying(tape: readonly Uint8Array[]): Source {
  let next = 0;
  return (length) => {
    const bytes = tape[next++];
    return bytes && bytes.length === length ? bytes : fresh(length);
  };
}
