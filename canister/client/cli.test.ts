import { generateKeyPairSync } from 'node:crypto';

import { Ed25519KeyIdentity } from '@icp-sdk/core/identity';
import { Secp256k1KeyIdentity } from '@icp-sdk/core/identity/secp256k1';
import { describe, expect, it, vi } from 'vitest';

import { guessContentType, httpUrl, identityFromPem, main, shareToken } from './cli.ts';

/** A module source that fails the test if a command that should not deploy asks for it. */
const OPTIONS = {
  program: 'icsim-upload',
  defaultModule: () => Promise.reject(new Error('no command here deploys')),
};

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
      expect(await main([], OPTIONS)).toBe(2);
      expect(await main(['f.bin'], OPTIONS)).toBe(2);
      expect(await main(['f.bin', '--canister-id', 'aaaaa-aa', '--lanes', '0'], OPTIONS)).toBe(2);
      expect(await main(['f.bin', '--canister-id', 'aaaaa-aa', '--chunk-size', '1900001'], OPTIONS)).toBe(2);
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
      expect(await main(['/nonexistent/file', '--canister-id', 'aaaaa-aa'], OPTIONS)).toBe(1);
      expect(String(errors.mock.calls[0][0])).toMatch(/^upload failed: ENOENT/);
    } finally {
      errors.mockRestore();
    }
  });

  it('prints the URL a browser opens: <id>.localhost locally, <id>.icp0.io on mainnet, ?canisterId= elsewhere', () => {
    const id = 'rdmx6-jaaaa-aaaaa-aaadq-cai';
    expect(httpUrl(new URL('http://127.0.0.1:4943'), id, '/b/ab')).toBe(`http://${id}.localhost:4943/b/ab`);
    expect(httpUrl(new URL('https://icp-api.io'), id, '/s/cd')).toBe(`https://${id}.icp0.io/s/cd`);
    expect(httpUrl(new URL('http://replica.lan:8080/'), id, '/b/ab')).toBe(
      `http://replica.lan:8080/b/ab?canisterId=${id}`,
    );
  });

  it('takes a share link as its token, its path or its URL', () => {
    const t = 'ab'.repeat(32);
    expect(shareToken(t)).toBe(t);
    expect(shareToken(`/s/${t}`)).toBe(t);
    expect(shareToken(`http://x.localhost:4943/s/${t.toUpperCase()}?kind=thumbnail`)).toBe(t);
    expect(shareToken('ab'.repeat(31))).toBeUndefined();
    expect(shareToken(`/b/${t}x`)).toBeUndefined();
  });

  it('refuses bad sharing arguments with exit code 2', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const id = ['--canister-id', 'aaaaa-aa'];
      expect(await main(['publish', 'abc', ...id], OPTIONS)).toBe(2);
      expect(await main(['share', 'ab'.repeat(32), ...id, '--expires-in', '0'], OPTIONS)).toBe(2);
      expect(await main(['revoke', 'nope', ...id], OPTIONS)).toBe(2);
      expect(await main(['unpublish', ...id], OPTIONS)).toBe(2);
      const said = errors.mock.calls.map((c) => String(c[0]));
      expect(said).toContain('BLOB_ID must be the 64-hex id upload printed, got abc');
      expect(said.some((l) => l.startsWith('--expires-in must be a whole number of seconds'))).toBe(true);
      expect(said.some((l) => l.startsWith("revoke needs a share link's token or URL"))).toBe(true);
    } finally {
      errors.mockRestore();
    }
  });
});
