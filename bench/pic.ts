/** Starting icsim through PicJS, as a user's test suite would: the built package's launcher (`npm run build`). */
import { PocketIc, PocketIcServer } from '@dfinity/pic';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../', import.meta.url));
export const binPath = process.env.POCKET_IC_BIN || join(repoRoot, 'dist', 'simulator', 'bin', 'icsim.js');

export async function startPic(): Promise<{ server: PocketIcServer; pic: PocketIc; ms: number }> {
  const t = performance.now();
  const server = await PocketIcServer.start({ binPath });
  const pic = await PocketIc.create(server.getUrl());
  return { server, pic, ms: performance.now() - t };
}
