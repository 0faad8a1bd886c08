// The layering of src/ (docs/ARCHITECTURE.md): spec → plan (with cgroups inside it) → lifecycle →
// the CLI and the library. A module may import its own layer or the ones before it, never a later
// one; and nothing in src/ imports in a circle (scripts/import-cycles.mjs, type imports included).
import t from 'tap';
import { readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
// @ts-expect-error: a plain .mjs script without types
import { importCycles, importsOf } from '../scripts/import-cycles.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(REPO, 'src');

/** The layer of each top-level directory that has one; other modules are not ranked. */
const RANK: Record<string, number> = { spec: 0, plan: 1, cgroups: 1, lifecycle: 2, explain: 3, cli: 4 };

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

const layerOf = (file: string) => relative(SRC, file).split(sep)[0].replace(/\.ts$/, '');

t.test('no import cycle in src/', (t) => {
  t.same(importCycles(SRC), []);
  t.end();
});

t.test('no module imports a later layer', (t) => {
  const wrong: string[] = [];
  for (const file of tsFiles(SRC)) {
    const from = RANK[layerOf(file)];
    if (from === undefined) continue;
    for (const dep of importsOf(file) as string[]) {
      const to = RANK[layerOf(dep)];
      if (to !== undefined && to > from) wrong.push(`${relative(REPO, file)} imports ${relative(REPO, dep)}`);
    }
  }
  t.same(wrong, [], 'spec → plan/cgroups → lifecycle → explain → cli');
  t.end();
});
