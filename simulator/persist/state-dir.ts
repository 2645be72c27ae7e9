/**
 * The layout of `icsim --state-dir DIR` and of a REST create request's `state_dir`, on the
 * server's main thread:
 *
 *   DIR/instances/<id>.log      the log of instance <id> (`log.ts`, `journal.ts`)
 *   DIR/instances/<id>.link     instance <id> keeps its log in its own `state_dir`: that path
 *   DIR/instances/<id>.deleted  instance <id> was deleted: its id stays taken, as in PocketIC
 *   <state_dir>/icsim-instance.log   the log of an instance created with `state_dir`
 *
 * Each file appears with a rename, so a reader sees it whole or not at all; a restarted server
 * registers every id from 0 to the largest it finds, any id without a file as deleted.
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { readFirstRecord, StateError } from './log.ts';
import { isCreate, type CreateRecord } from './records.ts';

/** The log's name inside a REST `state_dir`. */
export const INSTANCE_LOG = 'icsim-instance.log';

/**
 * The log of the instance a REST `state_dir` holds, after checking the directory may hold one: an
 * absolute path (the server's working directory is no place for state), an existing directory
 * (as PocketIC, which writes `topology.json` into it), and either empty or holding an icsim log
 * (icsim never writes among files it does not know).
 * @returns the log's path and whether it exists (the instance is resumed from it).
 * @throws StateError saying which condition fails.
 */
export function instanceLogIn(stateDir: string): { log: string; exists: boolean } {
  if (!isAbsolute(stateDir))
    throw new StateError(`state_dir must be an absolute path, got ${JSON.stringify(stateDir)}`);
  let entries: string[];
  try {
    if (!statSync(stateDir).isDirectory()) throw new StateError(`state_dir ${stateDir} is not a directory`);
    entries = readdirSync(stateDir);
  } catch (e) {
    if (e instanceof StateError) throw e;
    throw new StateError(`state_dir ${stateDir} cannot be read: ${(e as Error).message}`);
  }
  const log = join(resolve(stateDir), INSTANCE_LOG);
  if (entries.includes(INSTANCE_LOG)) return { log, exists: true };
  if (entries.length > 0)
    throw new StateError(
      `state_dir ${stateDir} is neither empty nor an icsim instance's state (no ${INSTANCE_LOG})`,
    );
  return { log, exists: false };
}

/** One id of a restarted server's registry. */
export type RestoredSlot =
  | { id: number; state: 'log'; log: string; create: CreateRecord }
  | { id: number; state: 'deleted' }
  /** A log that cannot be read: the id answers this error, the server and its other instances run. */
  | { id: number; state: 'broken'; message: string };

/**
 * The `create` record of a log, read without the rest: a log damaged further on is reported by
 * the instance's worker when it replays it (each request then answers why).
 * @throws StateError naming the file and what is wrong.
 */
export function checkLog(log: string): CreateRecord {
  let first: unknown;
  try {
    first = readFirstRecord(log);
  } catch (e) {
    if (e instanceof StateError) throw e;
    throw new StateError(`${log} cannot be read: ${(e as Error).message}`);
  }
  if (!isCreate(first)) throw new StateError(`${log} does not begin with the instance's configuration`);
  return first;
}

const FILE = /^(\d+)\.(log|link|deleted)$/;

function writeAtomically(file: string, data: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

/** The server's `--state-dir`. */
export class ServerStateDir {
  readonly root: string;
  readonly #instances: string;

  /** @throws StateError when the directory cannot be created or is not a directory. */
  constructor(root: string) {
    this.root = resolve(root);
    this.#instances = join(this.root, 'instances');
    try {
      mkdirSync(this.#instances, { recursive: true });
    } catch (e) {
      throw new StateError(`--state-dir ${root} cannot be used: ${(e as Error).message}`);
    }
    this.#claim(root);
  }

  /**
   * Writes this process's id to `DIR/lock`: two servers appending to the same logs would
   * interleave their records. A lock whose process is gone (killed) is taken over.
   */
  #claim(root: string): void {
    const lock = join(this.root, 'lock');
    let holder: number | undefined;
    try {
      holder = Number(readFileSync(lock, 'utf8'));
    } catch {
      // no lock yet
    }
    if (holder !== undefined && Number.isSafeInteger(holder) && holder > 0 && holder !== process.pid) {
      let alive = true;
      try {
        process.kill(holder, 0);
      } catch (e) {
        alive = (e as NodeJS.ErrnoException).code === 'EPERM';
      }
      if (alive) throw new StateError(`--state-dir ${root} is in use by another icsim (process ${holder})`);
    }
    writeAtomically(lock, String(process.pid));
  }

  /** Where the server keeps the log of instance `id`. */
  logFor(id: number): string {
    return join(this.#instances, `${id}.log`);
  }

  /** Records that instance `id` keeps its log at `log` (a REST `state_dir`). */
  link(id: number, log: string): void {
    writeAtomically(join(this.#instances, `${id}.link`), log);
  }

  /** Records the deletion of instance `id`: its own log goes, a linked `state_dir` stays. */
  markDeleted(id: number): void {
    writeAtomically(join(this.#instances, `${id}.deleted`), '');
    rmSync(this.logFor(id), { force: true });
    rmSync(join(this.#instances, `${id}.link`), { force: true });
  }

  /** Every id the directory holds, from 0 to the largest; leftovers of unfinished writes are removed. */
  restore(): RestoredSlot[] {
    const found = new Map<number, Set<string>>();
    for (const name of readdirSync(this.#instances)) {
      const m = FILE.exec(name);
      if (!m) {
        // A temporary file of a write that never finished: never acknowledged.
        if (name.includes('.tmp-')) rmSync(join(this.#instances, name), { force: true });
        continue;
      }
      const id = Number(m[1]);
      if (!found.has(id)) found.set(id, new Set());
      found.get(id)!.add(m[2]!);
    }
    const max = Math.max(-1, ...found.keys());
    const slots: RestoredSlot[] = [];
    for (let id = 0; id <= max; id++) {
      const kinds = found.get(id);
      if (!kinds || kinds.has('deleted')) {
        slots.push({ id, state: 'deleted' });
        continue;
      }
      const log = kinds.has('log')
        ? this.logFor(id)
        : readFileSync(join(this.#instances, `${id}.link`), 'utf8');
      try {
        if (!existsSync(log)) throw new StateError(`${log} does not exist`);
        slots.push({ id, state: 'log', log, create: checkLog(log) });
      } catch (e) {
        slots.push({ id, state: 'broken', message: (e as Error).message });
      }
    }
    return slots;
  }
}
