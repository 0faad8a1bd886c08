#!/usr/bin/env node
// The `runt` command. It runs the CLI bundle (dist/runt-cli.cjs, made by scripts/bundle-cli.mjs)
// through vm.Script with V8's code cache (dist/runt-cli.cjs.cache): no module resolution, no
// parsing, and the functions compiled in earlier runs are not compiled again. (Node 20 has no compile
// cache of its own for user code.)
//
// The build makes a first cache (every module's top level). After a command has run, the cache is
// written again, with the functions that command compiled, when it was missing or rejected by V8
// (another Node, other V8 flags), or when the command took the start-up fast path (the commands
// engines call in a loop; the others load yargs and cost far more anyway) and has not contributed to
// the cache yet (the cache header lists the command words that have). So once each of those commands
// has run, the cache holds what they need, and it stays as it is.
// The file is written to a temporary name and renamed into place; any failure (a read-only install,
// another user) is ignored without a word: the command never depends on the cache.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const BUNDLE = path.join(__dirname, '..', 'dist', 'runt-cli.cjs');
const CACHE = `${BUNDLE}.cache`;
const ENTRY = 'src/cli/main.js';
/** Loaded only when a command did not take the fast path. */
const SLOW_PATH = 'src/cli/yargs-cli.js';
/** Commands recorded in the cache at most (the cache grows with each). */
const MAX_LEARNED = 16;

/** The cache belongs to this bundle (its first line names a hash of it), this Node and this CPU. */
function cacheKey(source) {
  return `runt-cli-cache ${source.slice(0, source.indexOf('\n')).split(' ')[2]} ${process.version} ${process.arch}`;
}

/** { data, learned } from the cache file when it was made for `key`, else undefined. */
function readCache(key) {
  let buf;
  try {
    buf = fs.readFileSync(CACHE);
  } catch {
    return undefined;
  }
  const nl = buf.indexOf(10);
  if (nl < 0) return undefined;
  const header = buf.toString('latin1', 0, nl).split(' ');
  if (header.slice(0, 4).join(' ') !== key) return undefined;
  return { data: buf.subarray(nl + 1), learned: header[4] ? header[4].split(',') : [] };
}

function writeCache(key, learned, script) {
  const tmp = `${CACHE}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`;
  let fd;
  try {
    fd = fs.openSync(tmp, 'wx', 0o644);
  } catch {
    return;
  }
  let written = false;
  try {
    fs.writeFileSync(fd, Buffer.concat([Buffer.from(`${key} ${learned.join(',')}\n`, 'latin1'), script.createCachedData()]));
    written = true;
  } catch {
    // e.g. ENOSPC
  }
  try {
    fs.closeSync(fd);
    if (written) fs.renameSync(tmp, CACHE);
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
  const cache = readCache(key);
  const script = new vm.Script(source, { filename: BUNDLE, cachedData: cache?.data });
  const registry = script.runInThisContext()(require, BUNDLE, path.dirname(BUNDLE));
  const rejected = cache === undefined || script.cachedDataRejected;
  const word = commandWord(process.argv.slice(2));
  const learned = rejected ? [] : cache.learned;
  if (rejected || (word !== undefined && !learned.includes(word) && learned.length < MAX_LEARNED)) {
    process.once('exit', () => {
      const fast = !registry.isLoaded(SLOW_PATH);
      if (rejected || fast) writeCache(key, fast && word !== undefined ? [...learned, word] : learned, script);
    });
  }
  registry.load(ENTRY);
}

/** Build time (scripts/bundle-cli.mjs): a first cache, with the top level of every module but the
 *  entry (it runs the CLI) and yargs's compiled. */
function prime() {
  const source = fs.readFileSync(BUNDLE, 'utf8');
  const script = new vm.Script(source, { filename: BUNDLE });
  const registry = script.runInThisContext()(require, BUNDLE, path.dirname(BUNDLE));
  for (const id of registry.ids()) if (id !== ENTRY && id !== SLOW_PATH) registry.load(id);
  writeCache(cacheKey(source), [], script);
  return fs.existsSync(CACHE);
}

if (require.main === module) run();
else module.exports = { prime, BUNDLE, CACHE };
