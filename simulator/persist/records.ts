/**
 * The first record of every instance log, and writing a new log: the server's main thread writes
 * one before answering `POST /instances` (and reads an existing one's configuration through
 * `state-dir.ts`). Kept apart from `journal.ts` so that the main thread never loads the core.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { InstanceConfig } from '../types.ts';
import { encodeRecord, LOG_MAGIC } from './log.ts';

/** The first record of a log: what the instance was created with. */
export interface CreateRecord {
  kind: 'create';
  config: InstanceConfig;
  autoProgressDelayMs?: number;
  /** The REST protocol generation the server answers the instance in (`server/dialects/`). */
  dialect?: string;
}

export function isCreate(value: unknown): value is CreateRecord {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Partial<CreateRecord>;
  return (
    r.kind === 'create' &&
    typeof r.config === 'object' &&
    r.config !== null &&
    Array.isArray(r.config.subnets)
  );
}

/**
 * Writes a new log holding only `create`, atomically: a reader sees no file or the whole record.
 * @throws when the directory cannot be created or written.
 */
export function writeNewLog(file: string, create: CreateRecord): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, Buffer.concat([LOG_MAGIC, encodeRecord(create)]));
  renameSync(tmp, file);
}
