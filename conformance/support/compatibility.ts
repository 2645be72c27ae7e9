/**
 * The compatibility table of the README, produced from conformance runs:
 * which PicJS releases (`conformance/clients/`) and which agents
 * (`conformance/agent/http-interface.spec.ts`) pass on icsim.
 *
 * The summary reporter calls `recordRun` at the end of every run on icsim: the
 * results of the releases and agents that ran are written to
 * `conformance/compatibility.json` (the others keep their last result), and
 * the README section between the markers is rendered from that file.
 * `node conformance/support/compatibility.ts` renders it again by hand.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { format, resolveConfig } from 'prettier';
import { fileURLToPath } from 'node:url';
import type { TestModule } from 'vitest/node';
import { RELEASES } from '../clients/releases.ts';

export const AGENTS = [
  '@icp-sdk/core 6.x',
  '@icp-sdk/core 5.x',
  '@dfinity/agent 3.x',
  '@dfinity/agent 2.x',
  '@dfinity/agent 1.x',
] as const;

export interface Outcome {
  passed: number;
  failed: number;
}
export interface Compatibility {
  /** By release id of `conformance/clients/releases.ts`. */
  clients: Record<string, Outcome>;
  /** By agent name of `AGENTS`. */
  agents: Record<string, Outcome>;
}

const root = new URL('../../', import.meta.url);
export const JSON_FILE = fileURLToPath(new URL('conformance/compatibility.json', root));
export const README = fileURLToPath(new URL('README.md', root));
export const START = '<!-- compatibility:start (written by conformance/support/compatibility.ts) -->';
export const END = '<!-- compatibility:end -->';

const add = (map: Record<string, Outcome>, key: string, state: string): void => {
  const o = (map[key] ??= { passed: 0, failed: 0 });
  if (state === 'passed') o.passed++;
  else if (state === 'failed') o.failed++;
};

/** The outcomes of one run's modules, per release and per agent (only those that ran). */
export function collect(modules: ReadonlyArray<TestModule>): Compatibility {
  const result: Compatibility = { clients: {}, agents: {} };
  for (const mod of modules) {
    const client = /conformance\/clients\/(pic-[\d.]+)\.spec\.ts$/.exec(mod.moduleId)?.[1];
    const agents = mod.moduleId.endsWith('conformance/agent/http-interface.spec.ts');
    if (!client && !agents) continue;
    const tests = [...mod.children.allTests()];
    const ran = tests.filter((t) => ['passed', 'failed'].includes(t.result().state));
    // A file that failed before any test ran (a hook, an import) fails all it stands for.
    if (ran.length === 0 && mod.state() === 'failed') {
      if (client) add(result.clients, client, 'failed');
      else for (const a of AGENTS) add(result.agents, a, 'failed');
    }
    for (const test of ran) {
      const state = test.result().state;
      if (client) add(result.clients, client, state);
      const agent = AGENTS.find((a) => test.fullName.includes(a));
      if (agents && agent) add(result.agents, agent, state);
    }
  }
  return result;
}

export function read(): Compatibility {
  try {
    return JSON.parse(readFileSync(JSON_FILE, 'utf8')) as Compatibility;
  } catch {
    return { clients: {}, agents: {} };
  }
}

const verdict = (o: Outcome | undefined): string =>
  o === undefined
    ? 'not run'
    : o.failed === 0 && o.passed > 0
      ? `passes (${o.passed} tests)`
      : `**fails** (${o.failed} of ${o.passed + o.failed} tests)`;

/** The README section: one table of clients, one of agents. */
export function render(c: Compatibility): string {
  const lines = [
    START,
    '',
    '| client | PocketIC server it pins | agent it peers | smoke spec on icsim |',
    '| --- | --- | --- | --- |',
    ...RELEASES.map(
      (r) =>
        `| \`${r.client}\` ${r.version} | ${r.server} | ${r.agent} | ${verdict(c.clients[r.id])} (\`conformance/clients/${r.id}.spec.ts\`) |`,
    ),
    '',
    '| agent | IC HTTP interface specs on icsim |',
    '| --- | --- |',
    ...AGENTS.map((a) => `| ${a} | ${verdict(c.agents[a])} (\`conformance/agent/http-interface.spec.ts\`) |`),
    '',
    END,
  ];
  return lines.join('\n');
}

/** Writes `text` formatted as the repository's prettier formats that file (`npm run check`). */
async function writeFormatted(file: string, text: string): Promise<void> {
  const formatted = await format(text, { ...(await resolveConfig(file)), filepath: file });
  let current: string | undefined;
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    // not written yet
  }
  if (current !== formatted) writeFileSync(file, formatted);
}

/** Replaces the README section between the markers; false when the README has none. */
export async function writeReadme(c: Compatibility): Promise<boolean> {
  const text = readFileSync(README, 'utf8');
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start === -1 || end === -1 || end < start) return false;
  await writeFormatted(README, text.slice(0, start) + render(c) + text.slice(end + END.length));
  return true;
}

/** Merges a run's outcomes into the JSON file and renders the README from it. */
export async function recordRun(modules: ReadonlyArray<TestModule>): Promise<void> {
  const run = collect(modules);
  if (Object.keys(run.clients).length === 0 && Object.keys(run.agents).length === 0) return;
  const c = read();
  Object.assign(c.clients, run.clients);
  Object.assign(c.agents, run.agents);
  const sorted: Compatibility = {
    clients: Object.fromEntries(RELEASES.filter((r) => c.clients[r.id]).map((r) => [r.id, c.clients[r.id]!])),
    agents: Object.fromEntries(AGENTS.filter((a) => c.agents[a]).map((a) => [a, c.agents[a]!])),
  };
  await writeFormatted(JSON_FILE, JSON.stringify(sorted, null, 2) + '\n');
  await writeReadme(sorted);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (!(await writeReadme(read()))) {
    process.stderr.write(`README.md has no ${START} … ${END} section\n`);
    process.exitCode = 1;
  }
}
