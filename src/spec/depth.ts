// How deeply a config may nest, checked before anything recursive touches it (JSON.parse, the
// validator, JSON.stringify of the saved state, structured clones in the library).
//
// The limit is 1000 levels: runc's is 10,000 (Go's encoding/json), but Node's recursive paths run
// out of stack at a few thousand frames, well below that; a real config nests about 8 levels
// deep (linux.seccomp.syscalls[i].args[j]), so 1000 leaves room for any extension object while
// staying an order of magnitude below the depth at which Node's own recursion fails. Both checks
// are iterative, so neither can overflow the stack itself.

import { SpecError } from './errors.js';
import { indexPath, keyPath } from './check.js';

export const MAX_JSON_DEPTH = 1000;

/** How many leading levels of the path to name in the error (the rest would be thousands long). */
const SHOWN_LEVELS = 4;

function tooDeep(label: string, where: string): never {
  throw new SpecError(label, `nested more than ${MAX_JSON_DEPTH} levels deep${where ? ` ${where}` : ''}, the most runt accepts`);
}

/** Scans JSON text for the nesting depth of its arrays and objects, skipping strings. Throws a
 *  SpecError naming the line, column and the first keys of the path where the limit is passed. */
export function checkJsonTextDepth(text: string, label: string): void {
  let depth = 0;
  let line = 1;
  let lineStart = 0;
  // The first SHOWN_LEVELS levels: the key of the value being read (objects) or the element index (arrays).
  const path: Array<string | number> = [];
  let lastString = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i + 1;
      for (i = start; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
      if (depth <= SHOWN_LEVELS) lastString = text.slice(start, i);
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      depth++;
      if (depth > MAX_JSON_DEPTH) {
        const shown = path.slice(0, SHOWN_LEVELS).reduce<string>((p, k) => (typeof k === 'number' ? indexPath(p, k) : keyPath(p, k)), '');
        tooDeep(label, `at line ${line} column ${i - lineStart + 1}${shown ? ` (under ${shown}...)` : ''}`);
      }
      if (depth <= SHOWN_LEVELS) path[depth - 1] = c === 0x5b ? 0 : '';
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    } else if (c === 0x3a /* : */) {
      if (depth >= 1 && depth <= SHOWN_LEVELS) path[depth - 1] = lastString;
    } else if (c === 0x2c /* , */) {
      const at = path[depth - 1];
      if (depth >= 1 && depth <= SHOWN_LEVELS && typeof at === 'number') path[depth - 1] = at + 1;
    } else if (c === 0x0a) {
      line++;
      lineStart = i + 1;
    }
    if (depth < path.length && depth <= SHOWN_LEVELS) path.length = depth;
  }
}

/** The same limit for a value handed over as an object (library callers): an iterative walk. */
export function checkValueDepth(value: unknown, label: string): void {
  const stack: Array<{ value: unknown; depth: number; path: string }> = [{ value, depth: 0, path: '' }];
  while (stack.length) {
    const { value: v, depth, path } = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth + 1 > MAX_JSON_DEPTH) tooDeep(label, path ? `(under ${path}...)` : '');
    const named = depth < SHOWN_LEVELS;
    if (Array.isArray(v)) v.forEach((item, i) => stack.push({ value: item, depth: depth + 1, path: named ? indexPath(path, i) : path }));
    else for (const [k, item] of Object.entries(v)) stack.push({ value: item, depth: depth + 1, path: named ? keyPath(path, k) : path });
  }
}
