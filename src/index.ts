// runt as a library: the same code the CLI uses.
export {
  Runtime, Container, type RuntimeOptions, type WaitResult, type ContainerOptions, type ContainerIO, type EventOptions,
  type ProcessOptions,
} from './runtime.js';
export type { CreateOptions, TraceEvent } from './lifecycle/create.js';
export type { StdioOption } from './lifecycle/stdio.js';
export type { RuntEvent } from './lifecycle/events.js';
export { ExecHandle, type ExecOptions } from './lifecycle/exec.js';
export { createLogger, type Logger } from './log.js';
export * from './errors.js';
export { SpecError } from './spec/errors.js';
export type { Spec, State, Process, Mount, Linux, Hook } from './spec/types.js';
export { buildPlan, type Plan, type PlanContext } from './plan/build.js';
export type { Step } from './plan/steps.js';
