#!/usr/bin/env node
// The `runt` command. It runs the CLI bundle (dist/runt-cli.cjs, made by scripts/bundle.mjs)
// through vm.Script with V8's code cache (dist/runt-cli.cjs.cache): no module resolution, no
// parsing, and the functions compiled in earlier runs are not compiled again. (Node 20 has no compile
// cache of its own for user code.) The same machinery runs the containerd shim's bundle
// (dist/runt-shim.cjs, bin/containerd-shim-runt-v2.cjs): `launch` and `prime` take the bundle.
//
// Each command that takes the start-up fast path (the ones engines call in a loop) has a cache of
// its own, dist/runt-cli.cjs.<command>.cache, so that it loads only the code it runs; everything
// else (no command word, or a command that goes to yargs and costs far more anyway) shares
// dist/runt-cli.cjs.cache, which the build makes with every module's top level. A cache is written
// after the command has run, so that the functions it compiled are in it, when it was missing or V8
// rejected it (another Node, other V8 flags); a CLI command's first run starts from the shared one
// (a shim action's from the source: see SHIM).
// The file is written to a temporary name and renamed into place; any failure (a read-only install,
// another user) is ignored without a word: the command never depends on its cache.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

/** A bundle made by scripts/bundle.mjs: its file, the module it runs, and modules the build must not
 *  run when it primes the shared cache (`entry` would run the program; a slow path would load what
 *  the shared cache is meant to spare). */
const CLI = {
  name: 'runt-cli',
  file: path.join(__dirname, '..', 'dist', 'runt-cli.cjs'),
  entry: 'src/cli/main.js',
  /** Loaded only when a command did not take the fast path. */
  slowPath: 'src/cli/yargs-cli.js',
};
const SHIM = {
  name: 'runt-shim',
  file: path.join(__dirname, '..', 'dist', 'runt-shim.cjs'),
  entry: 'src/shim/main.js',
  slowPath: undefined,
  /** An action's first run compiles from the source, not from the shared cache, so that the cache
   *  it writes holds only what the action ran: V8 deserializes all of a cache, and the shared one,
   *  with every module's top level, costs a short-lived `delete` 3 ms of its 16. */
  leanCommandCaches: true,
  /** The `serve` cache is written only by a process that served a Create (process-io.js loads at
   *  the first one): not by a `start` that found its group's shim running, nor by a shim whose
   *  Create never came, whose cache would lack Create's code for every later shim. */
  cacheNeeds: { serve: 'src/shim/process-io.js' },
};
const BUNDLE = CLI.file;
const CACHE = `${BUNDLE}.cache`;
const sharedCache = (bundle) => `${bundle.file}.cache`;
const commandCache = (word, bundle = CLI) => `${bundle.file}.${word}.cache`;

/** The cache belongs to this bundle (its first line names a hash of it), this Node and this CPU. */
function cacheKey(source, bundle) {
  return `${bundle.name}-cache ${source.slice(0, source.indexOf('\n')).split(' ')[2]} ${process.version} ${process.arch}`;
}

/** The cached data in `file` when it was made for `key`, else undefined. */
function readCache(file, key) {
  let buf;
  try {
    buf = fs.readFileSync(file);
  } catch {
    return undefined;
  }
  const nl = buf.indexOf(10);
  return nl >= 0 && buf.toString('latin1', 0, nl) === key ? buf.subarray(nl + 1) : undefined;
}

function writeCache(file, key, script) {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`;
  let fd;
  try {
    fd = fs.openSync(tmp, 'wx', 0o644);
  } catch {
    return;
  }
  let written = false;
  try {
    fs.writeFileSync(fd, Buffer.concat([Buffer.from(`${key}\n`, 'latin1'), script.createCachedData()]));
    written = true;
  } catch {
    // e.g. ENOSPC
  }
  try {
    fs.closeSync(fd);
    if (written) fs.renameSync(tmp, file);
    else fs.unlinkSync(tmp);
  } catch {
    try {
      fs.unlinkSync(tmp);
    } catch {
      // nothing more to do
    }
  }
}

/** The command word in runt's arguments: the first one that is neither a flag nor a flag's value
 *  (the global flags that take one: src/cli/global-options.ts). */
function commandWord(args) {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--root' || args[i] === '--log' || args[i] === '--log-format' || args[i] === '--store') i++;
    else if (!args[i].startsWith('-')) {
      if (!/^[a-z]{1,16}$/.test(args[i])) return undefined;
      // `image pull`, `image ls`: a cache of each subcommand's own.
      if (args[i] === 'image' && /^[a-z]{1,16}$/.test(args[i + 1] ?? '')) return `image-${args[i + 1]}`;
      // `run|create --image`: the image code (store, snapshots, conversion) in a cache of its own;
      // a bundle's run would otherwise write one without it, and every image run compile it again.
      if ((args[i] === 'run' || args[i] === 'create') && args.some((a) => a === '--image' || a.startsWith('--image=')))
        return `${args[i]}-image`;
      return args[i];
    }
  }
  return undefined;
}

/** Runs `bundle`'s entry module with the code cache of `word` (the command), or the shared one;
 *  returns the entry's exports. */
function launch(bundle, word) {
  const source = fs.readFileSync(bundle.file, 'latin1');
  const key = cacheKey(source, bundle);
  const own = word === undefined ? undefined : readCache(commandCache(word, bundle), key);
  const cachedData = own ?? (bundle.leanCommandCaches && word !== undefined ? undefined : readCache(sharedCache(bundle), key));
  const script = new vm.Script(source, { filename: bundle.file, cachedData });
  const accepted = cachedData !== undefined && !script.cachedDataRejected;
  const registry = script.runInThisContext()(require, bundle.file, path.dirname(bundle.file));
  process.once('exit', () => {
    if (word !== undefined && !(bundle.slowPath && registry.isLoaded(bundle.slowPath))) {
      const needs = bundle.cacheNeeds?.[word];
      if (!(own && accepted) && (!needs || registry.isLoaded(needs))) writeCache(commandCache(word, bundle), key, script);
    } else if (own === undefined && !accepted) {
      writeCache(sharedCache(bundle), key, script);
    }
  });
  return registry.load(bundle.entry);
}

/** Build time (scripts/bundle.mjs): the shared cache, with every module's top level compiled but
 *  the entry's and the slow path's. */
function prime(bundle = CLI) {
  const source = fs.readFileSync(bundle.file, 'latin1');
  const script = new vm.Script(source, { filename: bundle.file });
  const registry = script.runInThisContext()(require, bundle.file, path.dirname(bundle.file));
  for (const id of registry.ids()) if (id !== bundle.entry && id !== bundle.slowPath) registry.load(id);
  writeCache(sharedCache(bundle), cacheKey(source, bundle), script);
  return fs.existsSync(sharedCache(bundle));
}

if (require.main === module) launch(CLI, commandWord(process.argv.slice(2)));
else module.exports = { launch, prime, commandCache, sharedCache, CLI, SHIM, BUNDLE, CACHE };
