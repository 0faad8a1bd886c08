// The `status` of the state each kind of hook reads on stdin, from runtime-spec 1.3 runtime.md.
// The lifecycle there numbers the steps: 2 creates the environment, 3-5 run prestart, createRuntime
// and createContainer hooks, 6 is `start`, 7 runs startContainer hooks, 8 runs the program, 9 runs
// poststart hooks, 13 poststop hooks after the container is destroyed. The state section defines
// `creating` as "being created (step 2)" and `created` as "the runtime has finished the create
// operation (after step 2) ... and the container process has neither exited nor executed the
// user-specified program": every hook from step 3 to step 7 sees `created`, poststart `running`
// and poststop `stopped`. (runc 1.1 gives prestart hooks `creating`; the validation suite's
// hooks_stdin expects `created`, as the text says.)
import type { HookName, State } from '../spec/types.js';

export const HOOK_STATUS: Record<HookName, State['status']> = {
  prestart: 'created',
  createRuntime: 'created',
  createContainer: 'created',
  startContainer: 'created',
  poststart: 'running',
  poststop: 'stopped',
};
