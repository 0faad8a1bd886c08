#!/usr/bin/env node
// Puts runt's CLI into one file, dist/runt-cli.cjs, and the containerd shim into another,
// dist/runt-shim.cjs, for bin/runt.cjs (and bin/containerd-shim-runt-v2.cjs, through it) to load
// with V8's code cache.
//
// Input: the CommonJS build (`tsc -p tsconfig.cli.json` → dist/cjs). Starting from a bundle's entry
// (src/cli/main.js, src/shim/main.js), every relative `require("./x.js")` (tsc's output for imports,
// and for dynamic `import()` as a require inside a promise) is followed, and each module becomes one
// function in a small registry. A module runs when it is first required, so `runt state` does not
// run the planner or yargs, and the shim's `delete` does not load the Task service; and because a
// function that is not called is not compiled, the code of modules never required costs only a
// pre-parse (none at all once the code cache is there). Bare requires (`node:fs`, `yargs`) and the
// addon go to the real `require` the launcher passes in.
//
// A bundle's first line names a hash of its contents: bin/runt.cjs accepts a code cache only if it
// was made for that hash (V8 itself checks only the source's length).
//
// Usage: node scripts/bundle.mjs [--cjs-dir dist/cjs] [--no-cache]
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, posix, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const cjsDir = resolve(root, arg('--cjs-dir', 'dist/cjs'));

// The TypeScript helpers the CommonJS build calls (tsconfig.cli.json has noEmitHelpers), defined
// once for all modules. Only these may appear.
const HELPERS = {
  __importDefault: 'function __importDefault(m) { return m && m.__esModule ? m : { default: m }; }',
  __importStar: `function __importStar(m) {
  if (m && m.__esModule) return m;
  const r = {};
  if (m != null) for (const k of Object.keys(m)) if (k !== 'default') r[k] = m[k];
  r.default = m;
  return r;
}`,
};

/** Which file a relative require names: tsc writes `./x.js`, and `./x.cjs.js` when tsconfig.cli.json's
 *  moduleSuffixes picked x.cjs.ts (the CommonJS stand-in for x.ts, e.g. src/module-dir.cjs.ts). */
function resolveRelative(fromId, spec) {
  const id = posix.normalize(posix.join(posix.dirname(fromId), spec));
  const withSuffix = id.replace(/\.js$/, '.cjs.js');
  if (existsSync(join(root, withSuffix.replace(/\.js$/, '.ts'))) && existsSync(join(cjsDir, withSuffix))) return withSuffix;
  if (existsSync(join(cjsDir, id))) return id;
  throw new Error(`${fromId}: cannot resolve require(${JSON.stringify(spec)}) (looked for ${id} in ${relative(root, cjsDir)})`);
}

/** Packages from node_modules that go into the bundles too (plain CommonJS, no native code, no
 *  require of a computed name): protobufjs's light build and what it requires, for the shim. Any
 *  other package stays a require of the installed one. */
const BUNDLED_PACKAGES = /^(protobufjs|@protobufjs\/[^/]+|long)(\/|$)/;
const NODE_MODULES = 'node_modules/';

/** The module id (a path under the repository) a require in module `fromId` names, or undefined to
 *  leave it to the real `require` (Node's built-ins and packages not bundled). */
function resolveRequire(fromId, spec) {
  const local = spec.startsWith('./') || spec.startsWith('../');
  if (!fromId.startsWith(NODE_MODULES)) {
    if (local) return resolveRelative(fromId, spec);
    if (!BUNDLED_PACKAGES.test(spec)) return undefined;
  } else if (!local && !BUNDLED_PACKAGES.test(spec)) {
    return undefined;
  }
  const from = fromId.startsWith(NODE_MODULES) ? join(root, fromId) : join(root, 'package.json');
  let file;
  try {
    file = createRequire(from).resolve(spec);
  } catch {
    return undefined; // an optional dependency that is not installed: its require fails at run time as it would
  }
  const id = relative(root, file).split(sep).join('/');
  if (!id.startsWith(NODE_MODULES) || !id.endsWith('.js'))
    throw new Error(`${fromId}: require(${JSON.stringify(spec)}) is ${file}, not bundled`);
  return id;
}

const sourceOf = (id) => (id.startsWith(NODE_MODULES) ? join(root, id) : join(cjsDir, id));

// tslib's helper names, as tsc calls them.
const TSLIB =
  /\b(__(?:extends|assign|rest|decorate|param|esDecorate|runInitializers|propKey|setFunctionName|metadata|awaiter|generator|exportStar|createBinding|values|read|spread|spreadArrays|spreadArray|await|asyncGenerator|asyncDelegator|asyncValues|makeTemplateObject|importStar|importDefault|setModuleDefault|classPrivateFieldGet|classPrivateFieldSet|classPrivateFieldIn|addDisposableResource|disposeResources|rewriteRelativeImportExtension))\(/g;
const REQUIRE = /\brequire\(\s*(?:"([^"]*)"|'([^']*)')\s*\)/g;

/** Writes the bundle of everything `bundle.entry` requires to `bundle.file`. */
function build(bundle) {
  const modules = new Map(); // id → transformed source
  const queue = [bundle.entry];
  while (queue.length) {
    const id = queue.shift();
    if (modules.has(id)) continue;
    let src = readFileSync(sourceOf(id), 'utf8');
    src = src.replace(/^#!.*\n/, '').replace(/^\/\/# sourceMappingURL=.*$/m, '');
    // A bundler's hint inside a package's require: require(/* webpackIgnore: true */ "fs").
    if (id.startsWith(NODE_MODULES)) src = src.replace(/\brequire\(\s*\/\*[^*]*\*\/\s*/g, 'require(');
    // Anything the registry cannot see through must stop the build rather than fail at run time.
    for (const m of src.matchAll(/\brequire\s*\(\s*(?!["'][^"']*["']\s*\))/g)) {
      throw new Error(`${id}: a require() without a string literal at offset ${m.index}`);
    }
    if (/\bimport\s*\(|\bimport\.meta\b/.test(src)) throw new Error(`${id}: import() or import.meta left in the CommonJS build`);
    for (const m of src.matchAll(TSLIB)) {
      if (!(m[1] in HELPERS)) throw new Error(`${id}: TypeScript helper ${m[1]} is not defined by the bundle (add it to HELPERS)`);
    }
    src = src.replace(REQUIRE, (whole, dq, sq) => {
      const target = resolveRequire(id, dq ?? sq);
      if (target === undefined) return whole;
      queue.push(target);
      return `__load(${JSON.stringify(target)})`;
    });
    modules.set(id, src);
  }

  // Each module is a plain (unparenthesised) function expression: V8 compiles it only when called.
  const defs = [...modules].map(([id, src]) => `${JSON.stringify(id)}: function (exports, module) {\n${src.trim()}\n}`);
  const body = `(function (require, __filename, __dirname) {
"use strict";
${Object.values(HELPERS).join('\n')}
const defs = {
${defs.join(',\n')}
};
const loaded = Object.create(null);
function __load(id) {
  let m = loaded[id];
  if (m === undefined) {
    m = loaded[id] = { exports: {} };
    defs[id].call(m.exports, m.exports, m);
  }
  return m.exports;
}
return { load: __load, ids: () => Object.keys(defs), isLoaded: (id) => id in loaded };
})
`;
  // ASCII only (a few comments and strings have other characters: escaped, which means the same in
  // a string, a regular expression or a comment), so that the launcher reads it as latin1 into a
  // one-byte string, at half the cost of decoding UTF-8.
  const ascii = body.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const hash = createHash('sha256').update(ascii).digest('hex').slice(0, 32);
  const text = `// ${bundle.name} ${hash} (generated by scripts/bundle.mjs from dist/cjs; run it with bin/runt.cjs)\n${ascii}`;
  const tmp = `${bundle.file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, bundle.file);
  console.log(`bundle: ${relative(root, bundle.file)}: ${modules.size} modules, ${(text.length / 1024).toFixed(0)} KiB, ${hash}`);
}

const launcher = createRequire(import.meta.url)(join(root, 'bin/runt.cjs'));
for (const bundle of [launcher.CLI, launcher.SHIM]) {
  build(bundle);
  // A first code cache, so that the first command after a build (or an install that cannot write
  // next to the bundle) already skips parsing. Best effort: bin/runt.cjs makes one when it is missing.
  if (process.argv.includes('--no-cache')) continue;
  // Caches made for the bundle this build replaced would only be rejected (by their key).
  for (const f of readdirSync(dirname(bundle.file))) {
    if (f.startsWith(basename(bundle.file)) && f.endsWith('.cache')) rmSync(join(dirname(bundle.file), f), { force: true });
  }
  let made = false;
  try {
    made = launcher.prime(bundle);
  } catch (e) {
    console.log(`bundle: no code cache made at build time for ${relative(root, bundle.file)} (${e.message}); the first run will make it`);
  }
  if (made) console.log(`bundle: ${relative(root, launcher.sharedCache(bundle))}`);
}
