import { generateKeyPairSync } from 'node:crypto';

import { Ed25519KeyIdentity } from '@icp-sdk/core/identity';
import { Secp256k1KeyIdentity } from '@icp-sdk/core/identity/secp256k1';
import { describe, expect, it, vi } from 'vitest';

import { guessContentType, identityFromPem, main } from './cli.ts';

describe('upload CLI', () => {
  it('reads Ed25519 PKCS#8 PEMs (as dfx writes them) into the same principal', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const der = privateKey.export({ type: 'pkcs8', format: 'der' });
    const raw = Uint8Array.from(der.subarray(der.length - 32));
    expect(identityFromPem(pem).getPrincipal().toText()).toBe(
      Ed25519KeyIdentity.fromSecretKey(raw).getPrincipal().toText(),
    );
  });

  it('reads secp256k1 EC PEMs', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    const pem = privateKey.export({ type: 'sec1', format: 'pem' }).toString();
    expect(identityFromPem(pem).getPrincipal().toText()).toBe(
      Secp256k1KeyIdentity.fromPem(pem).getPrincipal().toText(),
    );
  });

  it('guesses content types from extensions', () => {
    expect(guessContentType('a/b/photo.JPG')).toBe('image/jpeg');
    expect(guessContentType('movie.mp4')).toBe('video/mp4');
    expect(guessContentType('noext')).toBe('application/octet-stream');
  });

  it('rejects bad arguments with exit code 2 before touching the network', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(await main([])).toBe(2);
      expect(await main(['f.bin'])).toBe(2);
      expect(await main(['f.bin', '--canister-id', 'aaaaa-aa', '--lanes', '0'])).toBe(2);
      expect(await main(['f.bin', '--canister-id', 'aaaaa-aa', '--chunk-size', '1900001'])).toBe(2);
      expect(errors.mock.calls.map((c) => String(c[0]))).toContain(
        '--chunk-size must be an integer up to 1900000, got 1900001',
      );
    } finally {
      errors.mockRestore();
    }
  });

  it('reports a missing file as a failed upload (exit code 1)', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(await main(['/nonexistent/file', '--canister-id', 'aaaaa-aa'])).toBe(1);
      expect(String(errors.mock.calls[0][0])).toMatch(/^upload failed: ENOENT/);
    } finally {
      errors.mockRestore();
    }
  });
});
