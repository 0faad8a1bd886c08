// Where runt's package lies (the directory of its package.json): the addon, package.json and the
// CLI bundle are found from here, in every build (dist/src, src/ run from source, the CLI bundle).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { MODULE_DIR } from './module-dir.js';

let found: { dir: string; version: string } | undefined;

function find(): { dir: string; version: string } {
  if (!found) {
    for (let dir = MODULE_DIR; ; dir = dirname(dir)) {
      const file = join(dir, 'package.json');
      const pkg = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version: string }) : undefined;
      if (pkg?.name === 'runt') {
        found = { dir, version: pkg.version };
        break;
      }
      if (dirname(dir) === dir) throw new Error(`runt's package.json not found above ${MODULE_DIR}`);
    }
  }
  return found;
}

/** The nearest directory above this module that holds runt's package.json. */
export function packageRoot(): string {
  return find().dir;
}

/** runt's version, from its package.json. */
export function runtVersion(): string {
  return find().version;
}
