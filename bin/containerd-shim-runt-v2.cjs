#!/usr/bin/env node
// containerd's runtime v2 shim for runt (runtime name io.containerd.runt.v2): see src/shim/.
'use strict';
const path = require('node:path');
const { pathToFileURL } = require('node:url');

import(pathToFileURL(path.join(__dirname, '..', 'dist', 'src', 'shim', 'main.js')).href)
  .then((m) => m.main(process.argv.slice(2), __filename))
  .catch((e) => {
    process.stderr.write(`containerd-shim-runt-v2: ${e && e.message}\n`);
    process.exit(1);
  });
