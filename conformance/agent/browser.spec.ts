/**
 * A real browser shows files the upload canister serves: a 640×480 PNG and
 * its 64×48 thumbnail (linked as kind `thumbnail`) are uploaded, published
 * with an HTML page that shows both, and the page is opened in headless
 * Chromium (Debian's `chromium`, driven by `playwright-core`) through the
 * gateway of `pic.makeLive()` at `http://<canister-id>.localhost:<port>/…`
 * (Chromium resolves `*.localhost` to loopback itself). The images must have
 * decoded at their sizes: the bytes went through `http_request`, the
 * gateway's response verification and a real image decoder.
 *
 * Chromium must be installed (`apt-get install -y chromium`; `.ci/run` does
 * it on CI). Without it this spec fails saying so: it is never skipped.
 */
import type { PocketIc } from '@dfinity/pic';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, expect, it } from 'vitest';

import { createPic } from '../support/pic.ts';
import { hex, installUpload, newUser, type UploadCanister, uploadBytes } from '../support/upload.ts';

const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';

/** A `width`×`height` RGBA PNG: a gradient, so a decoder has real pixel data to get through. */
function png(width: number, height: number): Uint8Array {
  const image = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      image.data[i] = (x * 255) / width;
      image.data[i + 1] = (y * 255) / height;
      image.data[i + 2] = ((x ^ y) & 0xff) >>> 0;
      image.data[i + 3] = 255;
    }
  }
  return new Uint8Array(PNG.sync.write(image));
}

let pic: PocketIc;
let canister: UploadCanister;
let context: BrowserContext | undefined;
const profile = mkdtempSync(join(tmpdir(), 'icsim-chromium-'));

beforeAll(async () => {
  pic = await createPic();
  canister = await installUpload(pic);
});
afterAll(async () => {
  await context?.close();
  await pic?.tearDown();
  rmSync(profile, { recursive: true, force: true });
});

it('headless Chromium shows a published PNG and its thumbnail from the canister, decoded at their sizes', async () => {
  // In the test, not a hook: a missing browser is a failed test, not a skipped one.
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}: install it (Debian: apt-get install -y chromium) ` +
        'or point CHROMIUM_BIN at a Chromium binary. This spec needs a real browser and is never skipped.',
    );
  }
  const owner = canister.client(newUser());
  const photo = await uploadBytes(owner, pic, png(640, 480), 1_000_000, {
    name: 'photo.png',
    contentType: 'image/png',
  });
  const thumb = await uploadBytes(owner, pic, png(64, 48), 1_000_000, {
    name: 'photo-thumb.png',
    contentType: 'image/png',
  });
  await owner.linkDerivative(photo, thumb, 'thumbnail');
  await owner.publish(photo);
  // The thumbnail is reached through the original's URL, so it needs no publication of its own.
  const html = new TextEncoder().encode(
    '<!doctype html><meta charset="utf-8"><title>photo</title>' +
      `<img id="photo" src="/b/${hex(photo)}" alt="photo">` +
      `<img id="thumb" src="/b/${hex(photo)}?kind=thumbnail" alt="thumbnail">`,
  );
  const page = await uploadBytes(owner, pic, html, html.length, {
    name: 'index.html',
    contentType: 'text/html; charset=utf-8',
  });
  await owner.publish(page);

  const port = await pic.makeLive();
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-proxy-server',
    ],
  });
  const tab = await context.newPage();
  const url = `http://${canister.canisterId.toText()}.localhost:${port}/b/${hex(page)}`;
  const response = await tab.goto(url, { waitUntil: 'load' });
  expect(response?.status(), url).toBe(200);
  expect(response?.headers()['content-type']).toBe('text/html; charset=utf-8');

  const images = await tab.evaluate(async () => {
    const all = Array.from(document.images);
    // decode() rejects when the bytes are not an image the browser can decode.
    await Promise.all(all.map((img) => img.decode()));
    return all.map((img) => ({
      id: img.id,
      complete: img.complete,
      naturalWidth: img.naturalWidth,
      naturalHeight: img.naturalHeight,
    }));
  });
  expect(images).toEqual([
    { id: 'photo', complete: true, naturalWidth: 640, naturalHeight: 480 },
    { id: 'thumb', complete: true, naturalWidth: 64, naturalHeight: 48 },
  ]);
});
