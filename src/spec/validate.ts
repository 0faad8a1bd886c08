// validateSpec: check a parsed config.json against the OCI runtime spec (and the stricter rules
// runc applies) before anything is planned. The first problem found is thrown as a SpecError whose
// message is one line, `<json path>: <what is wrong>`. Unknown fields are allowed (the spec's
// extensibility rule); the input is returned as is, typed, never modified.

import { Fields, expectAbsolutePath, expectNoNul, expectObject, expectStringMap, fail, show } from './check.js';
import { HOOK_NAMES } from './constants.js';
import { checkValueDepth } from './depth.js';
import { destinationProblem, normalizeDestination } from './mount-destination.js';
import { SpecError, type SpecWarning } from './errors.js';
import { checkEnv, checkProcess, type Warn } from './validate-process.js';
import { checkIdMappings, checkLinux, checkNamespaces, type NamespaceSet } from './validate-linux.js';
import type { Process, Spec } from './types.js';

export { SpecError, type SpecWarning } from './errors.js';

export interface ValidateOptions {
  /** `process` must be present (create, run). Default true. */
  requireProcess?: boolean;
  /** Called for what the spec says to log rather than refuse. Default: ignore. */
  onWarning?: (warning: SpecWarning) => void;
}

/** The longest hook timeout the runtime can honour, in seconds: setTimeout's 2^31-1 ms. */
export const MAX_HOOK_TIMEOUT = Math.floor(2147483647 / 1000);

const OTHER_PLATFORMS = ['windows', 'solaris', 'vm', 'zos', 'freebsd'];

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

export function validateSpec(input: unknown, opts: ValidateOptions = {}): Spec {
  checkValueDepth(input, 'config');
  const warn = warner(opts);
  // Top-level fields have bare paths ("process.cwd"); the document itself is called "config".
  const spec = new Fields(expectObject(input, 'config'), '');
  const at = (key: string) => spec.at(key);

  const version = spec.reqString('ociVersion');
  if (!SEMVER.test(version)) fail(at('ociVersion'), `must be a SemVer version such as "1.0.2", got ${show(version)}`);

  const linux = spec.optObject('linux');
  const namespaces = checkNamespaces(linux);

  const root = spec.reqObject('root');
  if (root.reqString('path') === '') fail(root.at('path'), 'must not be empty');
  root.optBoolean('readonly');

  if (spec.has('process')) checkProcess(spec.reqObject('process'), warn);
  else if (opts.requireProcess ?? true) fail(at('process'), 'is required');

  checkNameNeedsUts(spec, 'hostname', namespaces);
  checkNameNeedsUts(spec, 'domainname', namespaces);
  if (spec.has('mounts')) checkMounts(spec, namespaces, warn);
  if (spec.has('process') && Fields.of(spec.raw('process'), 'process').has('execCPUAffinity')) {
    warn('process.execCPUAffinity', "applies to processes started by exec, not to the container's init (config.md)");
  }
  const hooks = spec.optObject('hooks');
  if (hooks) checkHooks(hooks);
  if (spec.has('annotations')) expectStringMap(spec.raw('annotations'), at('annotations'));
  if (linux) checkLinux(linux, namespaces);
  // Sections for other platforms (config.md "Platform-specific configuration") say nothing to a Linux
  // runtime; they are named, not silently dropped.
  for (const key of OTHER_PLATFORMS) {
    if (spec.has(key)) warn(at(key), `configuration for another platform: ignored on Linux`);
  }
  return input as Spec;
}

/** Validate a standalone process object, e.g. the file given to `exec --process`. Error paths
 *  start with `path` (default "process"). */
export function validateProcess(input: unknown, opts: { path?: string; onWarning?: ValidateOptions['onWarning'] } = {}): Process {
  checkValueDepth(input, opts.path ?? 'process');
  return checkProcess(Fields.of(input, opts.path ?? 'process'), warner(opts));
}

function warner(opts: { onWarning?: ValidateOptions['onWarning'] }): Warn {
  return (path, detail) => opts.onWarning?.({ path, message: new SpecError(path, detail).message });
}

/** runc: "unable to set hostname without a private UTS namespace" (same for domainname). */
function checkNameNeedsUts(spec: Fields, key: 'hostname' | 'domainname', namespaces: NamespaceSet): void {
  const name = spec.optString(key);
  if (name && !namespaces.has('uts')) fail(spec.at(key), `unable to set ${key} without a private UTS namespace`);
}

function checkMounts(spec: Fields, namespaces: NamespaceSet, warn: Warn): void {
  spec.eachObject('mounts', (m) => {
    // A relative destination is deprecated but allowed, relative to "/" (config.md); runc warns too.
    const written = m.reqString('destination');
    if (written === '') fail(m.at('destination'), 'must not be empty');
    expectNoNul(written, m.at('destination'));
    if (!written.startsWith('/')) {
      warn(m.at('destination'), `relative destination ${show(written)} is deprecated: taken as ${show(`/${written}`)}`);
    }
    const destination = written.startsWith('/') ? written : `/${written}`;
    const type = m.optString('type');
    m.optString('source');
    const options = m.optStringArray('options') ?? [];
    const isBind = type === 'bind' || options.includes('bind') || options.includes('rbind');
    const problem = destinationProblem(normalizeDestination(destination), type, isBind);
    if (problem) fail(m.at('destination'), problem);
    for (const key of ['uidMappings', 'gidMappings']) {
      if (m.has(key)) checkIdMappings(m.raw(key), m.at(key));
    }
    const mapped = m.has('uidMappings') || m.has('gidMappings');
    if (mapped && !(m.has('uidMappings') && m.has('gidMappings'))) {
      fail(m.path, 'uidMappings and gidMappings must be given together');
    }
    const idmap = options.find((o) => o === 'idmap' || o === 'ridmap');
    if (idmap && !mapped && !namespaces.has('user')) {
      fail(m.at('options'), `${show(idmap)} needs uidMappings and gidMappings or a user namespace`);
    }
  });
}

function checkHooks(hooks: Fields): void {
  for (const name of HOOK_NAMES) {
    hooks.eachObject(name, (h) => {
      expectAbsolutePath(h.required('path'), h.at('path'));
      h.optStringArray('args');
      if (h.has('env')) checkEnv(h.raw('env'), h.at('env'));
      // Seconds; the runtime waits with setTimeout (and runt-init with an int of milliseconds),
      // whose limit is 2^31-1 ms.
      h.optInt('timeout', { min: 1, max: MAX_HOOK_TIMEOUT, what: `a whole number of seconds in 1..${MAX_HOOK_TIMEOUT}` });
    });
  }
}
