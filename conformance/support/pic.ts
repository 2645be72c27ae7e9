/**
 * The specs' entry to the server under test: `createPic()` opens a fresh
 * PocketIC instance on the run's shared server (started once by
 * `global-setup.ts`, which provides its URL as `PIC_URL`).
 */
import { PocketIc, type CreateInstanceOptions } from '@dfinity/pic';
import { inject } from 'vitest';

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
