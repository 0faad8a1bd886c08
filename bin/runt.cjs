#!/usr/bin/env node
// The `runt` command. It runs the CLI bundle (dist/runt-cli.cjs, made by scripts/bundle-cli.mjs)
// through vm.Script with V8's code cache (dist/runt-cli.cjs.cache): no module resolution, no
// parsing, and the functions compiled in earlier runs are not compiled again. (Node 20 has no compile
// cache of its own for user code.)
//
// Each command that takes the start-up fast path (the ones engines call in a loop) has a cache of
// its own, dist/runt-cli.cjs.<command>.cache, so that it loads only the code it runs; everything
// else (no command word, or a command that goes to yargs and costs far more anyway) shares
// dist/runt-cli.cjs.cache, which the build makes with every module's top level. A cache is written
// after the command has run, so that the functions it compiled are in it, when it was missing or V8
// rejected it (another Node, other V8 flags); a command's first run starts from the shared one.
// The file is written to a temporary name and renamed into place; any failure (a read-only install,
// another user) is ignored without a word: the command never depends on its cache.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const BUNDLE = path.join(__dirname, '..', 'dist', 'runt-cli.cjs');
const CACHE = `${BUNDLE}.cache`;
const commandCache = (word) => `${BUNDLE}.${word}.cache`;
const ENTRY = 'src/cli/main.js';
/** Loaded only when a command did not take the fast path. */
const SLOW_PATH = 'src/cli/yargs-cli.js';

/** The cache belongs to this bundle (its first line names a hash of it), this Node and this CPU. */
function cacheKey(source) {
  return `runt-cli-cache ${source.slice(0, source.indexOf('\n')).split(' ')[2]} ${process.version} ${process.arch}`;
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

/** The command word in runt's arguments: the first one that is neither a flag nor a flag's value. */
function commandWord(args) {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--root' || args[i] === '--log' || args[i] === '--log-format') i++;
    else if (!args[i].startsWith('-')) return /^[a-z]{1,16}$/.test(args[i]) ? args[i] : undefined;
  }
  return undefined;
}

function run() {
  const source = fs.readFileSync(BUNDLE, 'utf8');
  const key = cacheKey(source);
  const word = commandWord(process.argv.slice(2));
  const own = word === undefined ? undefined : readCache(commandCache(word), key);
  const cachedData = own ?? readCache(CACHE, key);
  const script = new vm.Script(source, { filename: BUNDLE, cachedData });
  const accepted = cachedData !== undefined && !script.cachedDataRejected;
  const registry = script.runInThisContext()(require, BUNDLE, path.dirname(BUNDLE));
  process.once('exit', () => {
    if (word !== undefined && !registry.isLoaded(SLOW_PATH)) {
      if (!(own && accepted)) writeCache(commandCache(word), key, script);
    } else if (own === undefined && !accepted) {
      writeCache(CACHE, key, script);
    }
  });
  registry.load(ENTRY);
}

/** Build time (scripts/bundle-cli.mjs): the shared cache, with every module's top level compiled
 *  but the entry's (it would run the CLI) and yargs-cli's (it would load yargs). */
function prime() {
  const source = fs.readFileSync(BUNDLE, 'utf8');
  const script = new vm.Script(source, { filename: BUNDLE });
  const registry = script.runInThisContext()(require, BUNDLE, path.dirname(BUNDLE));
  for (const id of registry.ids()) if (id !== ENTRY && id !== SLOW_PATH) registry.load(id);
  writeCache(CACHE, cacheKey(source), script);
  return fs.existsSync(CACHE);
}

if (require.main === module) run();
else module.exports = { prime, BUNDLE, CACHE, commandCache };
