#!/usr/bin/env node
// Finds import cycles among the TypeScript files below a directory (default: src/), counting
// `import type` too: a type-only cycle still means two modules that cannot be read one without the
// other. Prints each cycle as a chain of paths and exits 1 when there is any.
// Usage: node scripts/import-cycles.mjs [dir]
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Every .ts file below dir. */
function tsFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** The relative modules a file imports or re-exports (static and dynamic), as .ts paths. */
export function importsOf(file, text = readFileSync(file, 'utf8')) {
  const out = new Set();
  const specifiers =
    /(?:^|[\s;])(?:import|export)\s[^;'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm;
  for (const m of text.matchAll(specifiers)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (!spec.startsWith('.')) continue;
    out.add(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
  }
  return [...out];
}

/** The cycles of the import graph of the files below dir: per strongly connected component that has
 *  a cycle, its files and one cycle through them (first file repeated last). */
export function importCycles(dir) {
  const files = tsFiles(dir);
  const known = new Set(files);
  const graph = new Map(files.map((f) => [f, importsOf(f).filter((d) => known.has(d))]));
  // Tarjan's strongly connected components.
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const components = [];
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v), idx.get(w)));
      }
    }
    if (low.get(v) === idx.get(v)) {
      const c = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1 || graph.get(v).includes(v)) components.push(c);
    }
  };
  for (const f of files) if (!idx.has(f)) visit(f);
  // One concrete cycle per component: walk from its first file inside the component back to it.
  return components.map((c) => {
    const inside = new Set(c);
    const start = c[c.length - 1];
    const path = [start];
    const seen = new Set([start]);
    const walk = (v) => {
      for (const w of graph.get(v)) {
        if (!inside.has(w)) continue;
        if (w === start) return true;
        if (seen.has(w)) continue;
        seen.add(w);
        path.push(w);
        if (walk(w)) return true;
        path.pop();
      }
      return false;
    };
    walk(start);
    return { files: c.reverse(), example: [...path, start] };
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = resolve(process.argv[2] ?? 'src');
  const cycles = importCycles(dir);
  const rel = (f) => relative(process.cwd(), f);
  for (const c of cycles) console.log(`import cycle among ${c.files.map(rel).join(', ')}: ${c.example.map(rel).join(' -> ')}`);
  if (cycles.length) process.exit(1);
  console.log(`no import cycles in ${relative(process.cwd(), dir) || '.'}`);
}
