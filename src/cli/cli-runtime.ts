// The Runtime the container commands act through, built from the global options. Kept apart from
// global.ts: loading it loads the whole library (lifecycle, cgroups, volumes: ~5 ms of a start).
import { Runtime } from '../runtime.js';
import { DEFAULT_ROOT } from '../state/store.js';
import { cliLogger, type GlobalArgs } from './global.js';

export function cliRuntime(argv: GlobalArgs): Runtime {
  return new Runtime({
    root: argv.root ?? DEFAULT_ROOT,
    store: argv.store,
    logger: cliLogger(),
    cgroupManager: argv['systemd-cgroup'] ? 'systemd' : 'cgroupfs',
  });
}
