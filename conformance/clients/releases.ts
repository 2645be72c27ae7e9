/**
 * The PicJS releases the `clients` family runs its smoke spec under, one spec
 * file each. Every release but the newest is installed with the agent it peers
 * as its own package (`packages/<id>/package.json`, a `file:` devDependency of
 * the repository): aliases of the clients themselves cannot be installed side
 * by side, because each resolves its `@dfinity/agent` peer by name from the
 * same folder (npm answers ERESOLVE). The newest, `@dfinity/pic` 0.23, is the
 * repository's own devDependency.
 *
 * `server` is the PocketIC server each release's postinstall downloads (its
 * `postinstall.mjs`); `start` is how it starts that server (its
 * `dist/pocket-ic-server.js`).
 */
import { fileURLToPath } from 'node:url';

export interface Release {
  /** Spec file and package folder name. */
  id: string;
  client: '@hadronous/pic' | '@dfinity/pic';
  version: string;
  /** The PocketIC server version the release pins. */
  server: string;
  agent: string;
  /**
   * `pid`: spawns `<client>/pocket-ic --pid <ppid>` and waits for `pocket_ic_<ppid>.ready`
   * (server 3) or the port file (server 6); `port-file`: `<client>/pocket-ic --port-file …`;
   * `bin-path`: `binPath`/`POCKET_IC_BIN` first.
   */
  start: 'pid' | 'port-file' | 'bin-path';
  /** `PocketIc.create(options)` starts its own server (0.6) instead of `PocketIc.create(url, options)`. */
  createStartsServer: boolean;
  /**
   * How a rejected call surfaces: `user-error` (servers before 8: the `UserError` description is
   * the error's message), `reject-response` ("Canister call failed: … Reject code: … Error code: …").
   */
  errors: 'user-error' | 'reject-response';
  /** The folder whose `node_modules` holds the client. */
  dir: string;
}

const packages = (id: string): string => fileURLToPath(new URL(`./packages/${id}/`, import.meta.url));
const root = fileURLToPath(new URL('../../', import.meta.url));

export const RELEASES: readonly Release[] = [
  {
    id: 'pic-0.6',
    client: '@hadronous/pic',
    version: '0.6.1',
    server: '3.0.1',
    agent: '@dfinity/agent 1.x',
    start: 'pid',
    errors: 'user-error',
    createStartsServer: true,
    dir: packages('pic-0.6'),
  },
  {
    id: 'pic-0.8',
    client: '@hadronous/pic',
    version: '0.8.1',
    server: '3.0.1',
    agent: '@dfinity/agent 1.x',
    start: 'pid',
    errors: 'user-error',
    createStartsServer: false,
    dir: packages('pic-0.8'),
  },
  {
    id: 'pic-0.11',
    client: '@hadronous/pic',
    version: '0.11.0',
    server: '6.0.0',
    agent: '@dfinity/agent 2.x',
    start: 'pid',
    errors: 'user-error',
    createStartsServer: false,
    dir: packages('pic-0.11'),
  },
  {
    id: 'pic-0.12',
    client: '@dfinity/pic',
    version: '0.12.0',
    server: '8.0.0',
    agent: '@dfinity/agent 2.x',
    start: 'port-file',
    errors: 'reject-response',
    createStartsServer: false,
    dir: packages('pic-0.12'),
  },
  {
    id: 'pic-0.13',
    client: '@dfinity/pic',
    version: '0.13.1',
    server: '9.0.1',
    agent: '@dfinity/agent 2.x',
    start: 'port-file',
    errors: 'reject-response',
    createStartsServer: false,
    dir: packages('pic-0.13'),
  },
  {
    id: 'pic-0.16',
    client: '@dfinity/pic',
    version: '0.16.1',
    server: '10.0.0',
    agent: '@dfinity/agent 3.x',
    start: 'port-file',
    errors: 'reject-response',
    createStartsServer: false,
    dir: packages('pic-0.16'),
  },
  {
    id: 'pic-0.17',
    client: '@dfinity/pic',
    version: '0.17.2',
    server: '11.0.0',
    agent: '@icp-sdk/core 5',
    start: 'port-file',
    errors: 'reject-response',
    createStartsServer: false,
    dir: packages('pic-0.17'),
  },
  {
    id: 'pic-0.23',
    client: '@dfinity/pic',
    version: '0.23.0',
    server: '14.0.0',
    agent: '@icp-sdk/core 5',
    start: 'bin-path',
    errors: 'reject-response',
    createStartsServer: false,
    dir: root,
  },
];

export function release(id: string): Release {
  const r = RELEASES.find((x) => x.id === id);
  if (!r) throw new Error(`no release ${id} in conformance/clients/releases.ts`);
  return r;
}
