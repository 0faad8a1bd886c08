#!/usr/bin/env node
// containerd's runtime v2 shim for runt (runtime name io.containerd.runt.v2): see src/shim/. It runs
// the shim's bundle (dist/runt-shim.cjs) with V8's code cache through bin/runt.cjs's launcher, one
// cache per action (start, delete, the long-lived shim), so that each loads only what it runs.
// containerd normally runs the native front (build/Release/containerd-shim-runt-v2, from
// csrc/shim_front.cc), which runs this; run directly, this does all of it.
'use strict';
const { launch, SHIM } = require('./runt.cjs');

/** The cache to run with, from containerd's Go-style command line (every flag takes a value but
 *  -debug and -v, and -flag=value carries its own): the action word, but `serve` for the front's
 *  `start -start-fd N`, which becomes the long-lived shim. */
function action(args) {
  let word = 'serve';
  let startFd = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (/^--?(v|version)$/.test(a)) return 'version';
    if (/^--?start-fd(=|$)/.test(a)) startFd = true;
    if (!a.startsWith('-')) word = a === 'start' || a === 'delete' ? a : undefined;
    else if (!a.includes('=') && !/^--?debug$/.test(a)) i++;
  }
  return word === 'start' && startFd ? 'serve' : word;
}

const args = process.argv.slice(2);
Promise.resolve()
  .then(() => launch(SHIM, action(args)).main(args, __filename))
  .catch((e) => {
    process.stderr.write(`containerd-shim-runt-v2: ${e && e.message}\n`);
    process.exit(1);
  });
