// The parts the step-by-step examples (examples/0*.ts) are built from: the addon, the step
// protocol, kernel constants, the planner, hints and the cgroup manager. Not the library's API
// (that is src/index.ts, the package's only entry point): these change whenever the runtime does.
export { native, type Native, type ChildMessage } from './native.js';
export { MSG, SYNC_TAG, FD_TAG, type Step, type SpawnConfig } from './plan/steps.js';
export { CLONE, MS, PR, NAMESPACES, CAPABILITIES, RLIMITS, capNumber } from './plan/constants.js';
export { buildPlan, type Plan, type PlanContext } from './plan/build.js';
export { planContainer, type PlanInputs } from './plan/container.js';
export { errnoName } from './lifecycle/handshake.js';
export { reap } from './lifecycle/spawn.js';
export { hintFor } from './plan/hints.js';
export { createCgroupManager, type CgroupManager } from './cgroups/index.js';
