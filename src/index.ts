// runt as a library (the package's entry point): the same code the CLI uses. The building blocks
// the step-by-step examples use (the addon, the step protocol, kernel constants) are in
// building-blocks.ts, not here.
export {
  Runtime,
  Container,
  type RuntimeOptions,
  type WaitResult,
  type ContainerOptions,
  type ContainerIO,
  type EventOptions,
  type ProcessOptions,
  type ImageCreateOptions,
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
export type { Step } from './plan/steps.js';
export { explainBundle, renderText, renderJson, type ExplainDocument, type ExplainedStep } from './explain/index.js';
export {
  Networks,
  DEFAULT_NETWORK,
  NetworkNotFoundError,
  type NetworkInfo,
  type NetworkCreateOptions,
  type ConnectOptions,
  type PortMapping,
} from './network/index.js';
export { Volumes, VolumeNotFoundError, type VolumeDetails, type VolumeInfo, type VolumeMount, type TmpfsMount } from './volume/index.js';
export { DEFAULT_STORE, storeRoot } from './store-root.js';
