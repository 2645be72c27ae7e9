// `icsim link` / `icsim unlink`: put icsim where PicJS looks for its server.
//
// Every PicJS release spawns `<its package>/pocket-ic` (the binary its postinstall downloads);
// before `@dfinity/pic` 0.23 (`POCKET_IC_BIN`, `binPath`) that is the only place it looks
// (`getBinPath()` in each release's `dist/pocket-ic-server.js`). `link` finds every PicJS package
// installed in the project (`@hadronous/pic`, `@dfinity/pic`, also under an npm alias or nested
// in another package's node_modules) and writes there a small script that starts icsim's
// launcher; a `pocket-ic` that is not ours (a downloaded PocketIC) is kept beside it as
// `pocket-ic.icsim-backup`. `unlink` removes our scripts and puts backups back. Both are
// idempotent. Plain JavaScript, like the launcher: it runs on any Node.
import {
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLIENT_NAMES = ['@hadronous/pic', '@dfinity/pic'];
const MARK = 'written by `icsim link`';
const BACKUP = 'pocket-ic.icsim-backup';
const launcher = join(dirname(fileURLToPath(import.meta.url)), 'icsim.js');

/**
 * The script PicJS spawns: POSIX sh (PocketIC runs on Linux and macOS only), so it does not depend
 * on the module type of the client's package; `exec` leaves PicJS's signals to icsim's launcher,
 * which finds a Node 24 when the one on PATH is older.
 */
function script(clientDir) {
  const rel = relative(clientDir, launcher).split('\\').join('/');
  return `#!/bin/sh
# ${MARK}: starts icsim instead of a PocketIC binary; \`npx icsim unlink\` removes it.
exec node "$(dirname "$0")/${rel}" "$@"
`;
}

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Every PicJS package below `projectDir/node_modules`: `{ dir, name, version, alias }`. Follows
 * symlinked packages (`file:` and workspace dependencies) and nested node_modules, once each.
 */
export function findClients(projectDir) {
  const found = [];
  const seen = new Set();
  const visitModules = (modulesDir) => {
    let entries;
    try {
      entries = readdirSync(modulesDir);
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.startsWith('.')) continue;
      const path = join(modulesDir, entry);
      if (entry.startsWith('@')) {
        let scoped = [];
        try {
          scoped = readdirSync(path);
        } catch {
          // not a directory
        }
        for (const name of scoped) visitPackage(join(path, name), `${entry}/${name}`);
      } else visitPackage(path, entry);
    }
  };
  const visitPackage = (dir, folderName) => {
    let real;
    try {
      real = realpathSync(dir);
    } catch {
      return;
    }
    if (seen.has(real)) return;
    seen.add(real);
    const pkg = readJson(join(real, 'package.json'));
    if (pkg && CLIENT_NAMES.includes(pkg.name)) {
      found.push({
        dir,
        name: pkg.name,
        version: pkg.version,
        alias: folderName === pkg.name ? undefined : folderName,
      });
    }
    visitModules(join(real, 'node_modules'));
  };
  visitModules(join(resolve(projectDir), 'node_modules'));
  return found;
}

function isOurs(file) {
  try {
    return lstatSync(file).isFile() && readFileSync(file, 'utf8').includes(MARK);
  } catch {
    return false;
  }
}

/** Links every client; returns one line per client saying what was done. */
export function link(projectDir) {
  return findClients(projectDir).map((c) => {
    const target = join(c.dir, 'pocket-ic');
    const label = `${c.alias ? `${c.alias} (${c.name}@${c.version})` : `${c.name}@${c.version}`}`;
    const content = script(realpathSync(c.dir));
    if (isOurs(target) && readFileSync(target, 'utf8') === content) return `${label}: already linked`;
    if (existsSync(target) && !isOurs(target)) renameSync(target, join(c.dir, BACKUP));
    writeFileSync(target, content, { mode: 0o755 });
    return `${label}: linked ${target}`;
  });
}

/** Removes what `link` wrote and restores kept binaries; returns one line per client. */
export function unlink(projectDir) {
  return findClients(projectDir).map((c) => {
    const target = join(c.dir, 'pocket-ic');
    const backup = join(c.dir, BACKUP);
    const label = c.alias ? `${c.alias} (${c.name}@${c.version})` : `${c.name}@${c.version}`;
    if (!isOurs(target)) return `${label}: not linked`;
    rmSync(target);
    if (existsSync(backup)) {
      renameSync(backup, target);
      return `${label}: unlinked, PocketIC binary restored`;
    }
    return `${label}: unlinked`;
  });
}

/** `icsim link|unlink [project dir]`: exit status 0, or 1 when no PicJS package was found. */
export function main(command, args) {
  const projectDir = args[0] ?? process.cwd();
  const lines = command === 'link' ? link(projectDir) : unlink(projectDir);
  if (lines.length === 0) {
    process.stderr.write(
      `icsim: no PicJS package (${CLIENT_NAMES.join(', ')}) found in ${join(resolve(projectDir), 'node_modules')}\n`,
    );
    return 1;
  }
  for (const line of lines) process.stdout.write(`icsim ${command}: ${line}\n`);
  return 0;
}
