// The OCI spec layer: types, validation, bundle loading and the default config.
export type * from './types.js';
export { SpecError, type SpecWarning } from './errors.js';
export { validateSpec, validateProcess, type ValidateOptions } from './validate.js';
export { loadBundleSpec, loadProcessSpec, rootfsPath } from './load.js';
export { defaultSpec, type DefaultSpecOptions } from './default.js';
export * from './constants.js';
