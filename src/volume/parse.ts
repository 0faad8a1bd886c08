// The `-v` and `--tmpfs` arguments of run/create (and the library's `volumes`/`tmpfs` options), as
// docker and podman spell them:
//   -v NAME:/path[:ro|rw][,nocopy]   a named volume (created on first use)
//   -v /host/dir:/path[:ro|rw]       a bind mount of a host directory
//   -v /path                         an anonymous volume, removed with the container
//   --tmpfs /path[:mount options]    a tmpfs (default nosuid,nodev,mode=1777)
import { isAbsolute, posix } from 'node:path';
import { RuntError } from '../errors.js';
import { checkVolumeName } from './store.js';

export interface VolumeMount {
  kind: 'volume' | 'bind' | 'anonymous';
  /** Volume name (volume), host directory (bind); empty for anonymous (named when created). */
  source: string;
  /** Absolute path in the container. */
  destination: string;
  readonly: boolean;
  /** A named volume empty when first mounted gets a copy of the image's content there unless set. */
  nocopy: boolean;
}

export interface TmpfsMount {
  destination: string;
  options: string[];
}

const bad = (arg: string, why: string) => new RuntError('EINVALID_ARGUMENT', `-v ${arg}: ${why}`);

export function parseVolumeArg(arg: string | VolumeMount): VolumeMount {
  if (typeof arg !== 'string') return checkMount(arg, JSON.stringify(arg));
  const parts = arg.split(':');
  if (parts.length === 1) return checkMount({ kind: 'anonymous', source: '', destination: parts[0], readonly: false, nocopy: false }, arg);
  if (parts.length > 3) throw bad(arg, 'expected SOURCE:/path[:options]');
  const [source, destination, optText = ''] = parts;
  let readonly = false;
  let nocopy = false;
  for (const o of optText.split(',').filter(Boolean)) {
    if (o === 'ro') readonly = true;
    else if (o === 'rw') readonly = false;
    else if (o === 'nocopy') nocopy = true;
    else if (o === 'copy') nocopy = false;
    else throw bad(arg, `unknown option "${o}" (ro, rw, nocopy, copy)`);
  }
  const kind = source.startsWith('/') || source.startsWith('.') ? 'bind' : 'volume';
  return checkMount({ kind, source, destination, readonly, nocopy }, arg);
}

function checkMount(m: VolumeMount, arg: string): VolumeMount {
  if (!isAbsolute(m.destination)) throw bad(arg, `the container path "${m.destination}" must be absolute`);
  const destination = posix.normalize(m.destination);
  if (destination === '/') throw bad(arg, "cannot mount over the container's /");
  if (m.kind === 'bind') {
    if (!isAbsolute(m.source)) throw bad(arg, `the host path "${m.source}" must be absolute`);
  } else if (m.kind === 'volume') {
    try {
      checkVolumeName(m.source);
    } catch (e) {
      throw bad(arg, (e as Error).message);
    }
  }
  return { ...m, destination };
}

export function parseTmpfsArg(arg: string | TmpfsMount): TmpfsMount {
  if (typeof arg !== 'string') return arg;
  const i = arg.indexOf(':');
  const destination = i < 0 ? arg : arg.slice(0, i);
  const options =
    i < 0
      ? []
      : arg
          .slice(i + 1)
          .split(',')
          .filter(Boolean);
  if (!isAbsolute(destination)) throw new RuntError('EINVALID_ARGUMENT', `--tmpfs ${arg}: the container path must be absolute`);
  const defaults = ['nosuid', 'nodev'];
  if (!options.some((o) => o.startsWith('mode='))) defaults.push('mode=1777');
  return { destination: posix.normalize(destination), options: [...defaults, ...options] };
}
