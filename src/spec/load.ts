// Reading a bundle: <bundle>/config.json, parsed, validated, and its root filesystem checked.

import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { SpecError } from './errors.js';
import { checkJsonTextDepth } from './depth.js';
import { validateProcess, validateSpec, type ValidateOptions } from './validate.js';
import type { Process, Spec } from './types.js';

/** Absolute path of the container's root filesystem (root.path is relative to the bundle). */
export function rootfsPath(bundle: string, spec: Spec): string {
  if (!spec.root) throw new SpecError('root', 'is required');
  const path = spec.root.path;
  return isAbsolute(path) ? resolve(path) : resolve(bundle, path);
}

/** Load and validate `<bundleDir>/config.json`; the bundle path may be relative to the cwd. */
export function loadBundleSpec(bundleDir: string, opts: ValidateOptions = {}): Spec {
  const bundle = resolve(bundleDir);
  const dir = statOrNull(bundle);
  if (!dir) throw new SpecError(bundle, 'bundle directory does not exist');
  if (!dir.isDirectory()) throw new SpecError(bundle, 'bundle is not a directory');

  const spec = validateSpec(readJson(join(bundle, 'config.json'), 'config.json'), opts);

  const rootfs = rootfsPath(bundle, spec);
  const root = statOrNull(rootfs);
  if (!root) throw new SpecError('root.path', `rootfs ${JSON.stringify(rootfs)} does not exist`);
  if (!root.isDirectory()) throw new SpecError('root.path', `rootfs ${JSON.stringify(rootfs)} is not a directory`);
  return spec;
}

/** Load and validate a process JSON file (`exec --process FILE`). */
export function loadProcessSpec(file: string, opts: Pick<ValidateOptions, 'onWarning'> = {}): Process {
  const path = resolve(file);
  return validateProcess(readJson(path, path), { onWarning: opts.onWarning });
}

/** `label` names the file in a JSON syntax error (engines show just "config.json"). */
function readJson(path: string, label: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new SpecError(path, 'no such file');
    throw new SpecError(path, `cannot read: ${e.code ?? e.message}`);
  }
  checkJsonTextDepth(text, label);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new SpecError(label, `invalid JSON: ${(err as Error).message}`);
  }
}

function statOrNull(path: string) {
  try {
    return statSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw new SpecError(path, `cannot stat: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
