/**
 * `icsim --state-dir` and REST `state_dir` at the server: a restarted server resumes the
 * instances its state dir holds under the same ids (deleted ones stay deleted), a state dir it
 * cannot read answers a clear error for that instance while the others run, and a `state_dir`
 * the server must not write into is refused with the reason.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDirs } from '../testing/temp-dirs.ts';
import { createIcsimServer, type IcsimServer } from '../server/server.ts';
import { WorkerPool } from '../server/worker-pool.ts';
import { LOG_MAGIC } from './log.ts';

const WORKER = new URL('../server/instance-worker.ts', import.meta.url);
const CREATE = {
  subnet_config_set: {
    system: [],
    application: [{ state_config: 'New', instruction_config: 'Production' }],
    verified_application: [],
  },
};

// Registered first, so removed last: Vitest runs after-hooks in reverse (the servers stop first).
const temp = tempDirs();
const tempDir = (): string => temp('icsim-state-dir-');
const servers: IcsimServer[] = [];
afterAll(() => {
  for (const s of servers) stop(s);
});

async function start(stateDir?: string): Promise<{ icsim: IcsimServer; url: string }> {
  const icsim = createIcsimServer({ pool: new WorkerPool(WORKER), stateDir });
  servers.push(icsim);
  await new Promise<void>((r) => icsim.server.listen(0, '127.0.0.1', r));
  const address = icsim.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { icsim, url: `http://127.0.0.1:${port}` };
}

function stop(icsim: IcsimServer): void {
  icsim.server.close();
  icsim.close();
}

async function request(
  url: string,
  method: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as unknown) : null };
}

describe('a restarted server resumes its --state-dir', () => {
  it('same ids, deleted ones deleted, each instance where it was; a broken log answers why', async () => {
    const stateDir = tempDir();
    const first = await start(stateDir);
    expect((await request(`${first.url}/instances`, 'POST', CREATE)).status).toBe(201);
    expect((await request(`${first.url}/instances`, 'POST', CREATE)).status).toBe(201);
    expect((await request(`${first.url}/instances`, 'POST', CREATE)).status).toBe(201);
    expect((await request(`${first.url}/instances/0`, 'DELETE')).status).toBe(200);
    const time = { nanos_since_epoch: 1_700_000_000_000_000_000 };
    expect((await request(`${first.url}/instances/1/update/set_time`, 'POST', time)).status).toBe(200);
    stop(first.icsim);

    const second = await start(stateDir);
    expect((await request(`${second.url}/instances`, 'GET')).json).toEqual([
      'Deleted',
      'Available',
      'Available',
    ]);
    expect((await request(`${second.url}/instances/1/read/get_time`, 'GET')).json).toEqual(time);
    expect((await request(`${second.url}/instances/0/read/get_time`, 'GET')).json).toEqual({
      message: 'UpdateError { message: "Instance was deleted" }',
    });
    const created = (await request(`${second.url}/instances`, 'POST', CREATE)).json as {
      Created: { instance_id: number };
    };
    expect(created.Created.instance_id).toBe(3);
    stop(second.icsim);

    // Instance 2's log damaged: that id answers the reason, the others run, the server does not stop.
    const damaged = join(stateDir, 'instances', '2.log');
    writeFileSync(damaged, 'not a log');
    const third = await start(stateDir);
    const answer = await request(`${third.url}/instances/2/read/get_time`, 'GET');
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({
      message: `instance 2 could not be restored from ${stateDir}: ${damaged} is not an icsim state log (it does not start with "icsim-log v1")`,
    });
    expect((await request(`${third.url}/instances/1/read/get_time`, 'GET')).json).toEqual(time);
    expect((await request(`${third.url}/instances/3/read/get_time`, 'GET')).status).toBe(200);
    stop(third.icsim);

    // Instance 1's log damaged in its second record (not its tail): its worker says where.
    const log1 = join(stateDir, 'instances', '1.log');
    const bytes = readFileSync(log1);
    const secondRecord = LOG_MAGIC.length + 8 + bytes.readUInt32LE(LOG_MAGIC.length);
    bytes[secondRecord + 10] ^= 0xff;
    writeFileSync(log1, bytes);
    const fourth = await start(stateDir);
    expect(await request(`${fourth.url}/instances/1/read/get_time`, 'GET')).toEqual({
      status: 400,
      json: {
        message: `the instance's state could not be restored: ${log1} is damaged: the record at byte ${secondRecord} fails its checksum`,
      },
    });
    expect((await request(`${fourth.url}/instances/3/read/get_time`, 'GET')).status).toBe(200);
    stop(fourth.icsim);
  });

  it('refuses a state dir another live process holds, and takes over one a killed process left', () => {
    const root = tempDir();
    // This test's parent (vitest's main process) is alive and is not this process.
    writeFileSync(join(root, 'lock'), String(process.ppid));
    expect(() => createIcsimServer({ pool: new WorkerPool(WORKER), stateDir: root })).toThrow(
      `--state-dir ${root} is in use by another icsim (process ${process.ppid})`,
    );
    // A pid no process has (beyond the kernel's pid_max).
    writeFileSync(join(root, 'lock'), String(2 ** 30));
    const icsim = createIcsimServer({ pool: new WorkerPool(WORKER), stateDir: root });
    expect(readFileSync(join(root, 'lock'), 'utf8')).toBe(String(process.pid));
    stop(icsim);
  });

  it('refuses a state dir path it cannot use, with the reason', () => {
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, '');
    expect(() => createIcsimServer({ pool: new WorkerPool(WORKER), stateDir: join(file, 'sub') })).toThrow(
      `--state-dir ${join(file, 'sub')} cannot be used`,
    );
  });
});

describe('REST state_dir', () => {
  it('under --state-dir, an instance kept in its own state_dir comes back after a restart too', async () => {
    const serverDir = tempDir();
    const own = tempDir();
    const first = await start(serverDir);
    expect((await request(`${first.url}/instances`, 'POST', { ...CREATE, state_dir: own })).status).toBe(201);
    const time = { nanos_since_epoch: 1_800_000_000_000_000_000 };
    expect((await request(`${first.url}/instances/0/update/set_time`, 'POST', time)).status).toBe(200);
    stop(first.icsim);

    const second = await start(serverDir);
    expect((await request(`${second.url}/instances/0/read/get_time`, 'GET')).json).toEqual(time);
    // Deleted, it leaves its state in its dir (PocketIC's semantics) and its id stays taken.
    expect((await request(`${second.url}/instances/0`, 'DELETE')).status).toBe(200);
    stop(second.icsim);
    const third = await start(serverDir);
    expect((await request(`${third.url}/instances`, 'GET')).json).toEqual(['Deleted']);
    const resumed = (await request(`${third.url}/instances`, 'POST', { ...CREATE, state_dir: own })).json as {
      Created: { instance_id: number };
    };
    expect(resumed.Created.instance_id).toBe(1);
    expect((await request(`${third.url}/instances/1/read/get_time`, 'GET')).json).toEqual(time);
    stop(third.icsim);
  });

  it('refuses a relative path, a directory of other files, and a dir another instance uses', async () => {
    const { icsim, url } = await start();
    const create = (stateDir: string) =>
      request(`${url}/instances`, 'POST', { ...CREATE, state_dir: stateDir });

    expect(await create('relative/dir')).toEqual({
      status: 400,
      json: { Error: { message: 'Bad config: state_dir must be an absolute path, got "relative/dir"' } },
    });
    const foreign = tempDir();
    writeFileSync(join(foreign, 'notes.txt'), 'mine');
    expect(await create(foreign)).toEqual({
      status: 400,
      json: {
        Error: {
          message: `Bad config: state_dir ${foreign} is neither empty nor an icsim instance's state (no icsim-instance.log)`,
        },
      },
    });
    const shared = tempDir();
    expect((await create(shared)).status).toBe(201);
    expect(await create(shared)).toEqual({
      status: 400,
      json: { Error: { message: `Bad config: state_dir ${shared} is in use by instance 0` } },
    });
    // Once that instance is deleted, the dir resumes in a new one.
    expect((await request(`${url}/instances/0`, 'DELETE')).status).toBe(200);
    expect((await create(shared)).status).toBe(201);
    stop(icsim);
  });
});
