// Types of ./link.js (plain JavaScript, like the launcher that loads it).

/** A PicJS package found in a project. */
export interface FoundClient {
  /** Its folder (as reached from the project's node_modules). */
  dir: string;
  name: string;
  version: string;
  /** The npm alias it is installed under, when not its own name. */
  alias?: string;
}

export const CLIENT_NAMES: readonly string[];
export function findClients(projectDir: string): FoundClient[];
export function link(projectDir: string): string[];
export function unlink(projectDir: string): string[];
export function main(command: 'link' | 'unlink', args: string[]): number;
