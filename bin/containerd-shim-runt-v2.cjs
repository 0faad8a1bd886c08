#!/usr/bin/env node
// containerd's runtime v2 shim for runt (runtime name io.containerd.runt.v2): see src/shim/. It runs
// the shim's bundle (dist/runt-shim.cjs) with V8's code cache through bin/runt.cjs's launcher, one
// cache per action (start, delete, the long-lived shim), so that each loads only what it runs.
'use strict';
const { launch, SHIM } = require('./runt.cjs');

/** The action word of containerd's Go-style command line: every flag takes a value but -debug and
 *  -v, and -flag=value carries its own. */
function action(args) {
  let word = 'serve';
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (/^--?(v|version)$/.test(a)) return 'version';
    if (!a.startsWith('-')) word = a === 'start' || a === 'delete' ? a : undefined;
    else if (!a.includes('=') && !/^--?debug$/.test(a)) i++;
  }
  return word;
}

const args = process.argv.slice(2);
Promise.resolve()
  .then(() => launch(SHIM, action(args)).main(args, __filename))
  .catch((e) => {
    process.stderr.write(`containerd-shim-runt-v2: ${e && e.message}\n`);
    process.exit(1);
  });
