/**
 * SHA-256 with Node's native implementation, for the hashes the ingress path
 * takes over whole arguments (icsim's message ids, request ids of the IC HTTP
 * interface): an argument is up to 2 MiB, which @noble/hashes hashes at about
 * 90 MB/s where node:crypto runs at over 1 GB/s (bench `limits.sha256_native_mb_per_s`).
 * Same digest as `@noble/hashes/sha2.js`'s `sha256`; the parts are hashed as
 * their concatenation without building it.
 */
import { createHash } from 'node:crypto';

export function sha256(...parts: readonly Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  const d = h.digest();
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}
