/**
 * Fresh temporary directories for one test file, removed after its tests: for tests of state
 * dirs, logs, port files and installs that must not share or leave anything behind.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/**
 * Registers the cleanup (Vitest's `afterAll`) and returns a maker of directories named
 * `<prefix>XXXXXX` in the system's temporary directory.
 *
 * @example
 * const tempDir = tempDirs();
 * it('writes its log', () => { const dir = tempDir('icsim-persist-'); … });
 */
export function tempDirs(): (prefix: string) => string {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  return (prefix) => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
}
