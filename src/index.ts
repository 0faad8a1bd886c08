// runt as a library: the same code the CLI uses.
export {
  Runtime, Container, type RuntimeOptions, type WaitResult, type ContainerOptions, type ContainerIO, type EventOptions,
  type ProcessOptions, type ImageCreateOptions,
} from './runtime.js';
export { ImageError } from './image/errors.js';
export type { ImageApi } from './image/api.js';
export type { PullOptions, PullEvent, PulledImage } from './image/pull.js';
export type { PushOptions } from './image/push.js';
export type { ImageSummary } from './image/service.js';
export type { ImageContainerOptions } from './image/prepare.js';
export { parseReference, formatReference, type Reference } from './image/reference.js';
export type { CreateOptions, TraceEvent } from './lifecycle/create.js';
export type { StdioOption } from './lifecycle/stdio.js';
export type { RuntEvent } from './lifecycle/events.js';
export { ExecHandle, type ExecOptions } from './lifecycle/exec.js';
export { createLogger, type Logger } from './log.js';
export * from './errors.js';
export { SpecError } from './spec/errors.js';
export type { Spec, State, Process, Mount, Linux, Hook, Seccomp } from './spec/types.js';
export { buildPlan, type Plan, type PlanContext } from './plan/build.js';
export type { Step, SpawnConfig } from './plan/steps.js';
// Building blocks (used by examples/): the addon, the step protocol, kernel constants, explain, hints.
export { native, type Native, type ChildMessage } from './native.js';
export { MSG, SYNC_TAG, FD_TAG } from './plan/steps.js';
export { CLONE, MS, PR, NAMESPACES, CAPABILITIES, RLIMITS, capNumber } from './plan/constants.js';
export { errnoName, reap } from './lifecycle/create.js';
export { planContainer, type PlanInputs } from './plan/container.js';
export { hintFor } from './plan/hints.js';
export { explainBundle, renderText, renderJson, type ExplainDocument, type ExplainedStep } from './explain/index.js';
export { createCgroupManager, type CgroupManager } from './cgroups/index.js';
export { Networks, DEFAULT_NETWORK, NetworkNotFoundError, type NetworkInfo, type NetworkCreateOptions, type ConnectOptions, type PortMapping } from './network/index.js';
export { Volumes, VolumeNotFoundError, type VolumeDetails, type VolumeInfo, type VolumeMount, type TmpfsMount } from './volume/index.js';
export { DEFAULT_STORE, storeRoot } from './store-root.js';
