/**
 * The specs' entry to the server under test: `createPic()` opens a fresh
 * PocketIC instance on the run's shared server (started once by
 * `global-setup.ts`, which provides its URL as `PIC_URL`).
 */
import { PocketIc, type CreateInstanceOptions } from '@dfinity/pic';
import { afterAll, beforeAll, inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the run's server (`http://127.0.0.1:<port>`). */
    PIC_URL: string;
  }
}

/** The shared server's URL. */
export function picUrl(): string {
  return inject('PIC_URL');
}

/** A new instance on the shared server; the caller tears it down. */
export function createPic(options?: CreateInstanceOptions): Promise<PocketIc> {
  return PocketIc.create(picUrl(), options);
}

/**
 * For a spec file: a fresh instance in live mode before its tests (`makeLive`, so agents reach
 * it over the IC HTTP interface at `host`), stopped and torn down after them.
 * @example
 * let pic: PocketIc;
 * let host: string;
 * liveInstance((p, h) => ((pic = p), (host = h)));
 */
export function liveInstance(ready: (pic: PocketIc, host: string) => void): void {
  let pic: PocketIc | undefined;
  beforeAll(async () => {
    pic = await createPic();
    ready(pic, `http://127.0.0.1:${await pic.makeLive()}`);
  });
  afterAll(async () => {
    await pic?.stopLive();
    await pic?.tearDown();
  });
}
