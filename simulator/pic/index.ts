/**
 * Helpers for PicJS users, as the package exports them (`import { binPath } from 'icsim/pic'`).
 */
import { fileURLToPath } from 'node:url';

/**
 * The absolute path of the `icsim` launcher, to start icsim from PicJS without
 * `POCKET_IC_BIN` (PicJS 0.23's `binPath` option).
 *
 * @example
 * import { PocketIc, PocketIcServer } from '@dfinity/pic';
 * import { binPath } from 'icsim/pic';
 * const server = await PocketIcServer.start({ binPath });
 * const pic = await PocketIc.create(server.getUrl());
 */
export const binPath: string = fileURLToPath(new URL('../bin/icsim.js', import.meta.url));
