// An image config becomes a runtime config as the image spec's conversion.md says. Each field that
// came from the image is recorded (image field → runtime field) for `runt explain --image`.
import { defaultSpec } from '../spec/default.js';
import type { Mount, Spec } from '../spec/types.js';
import { imageError } from './errors.js';
import type { ImageConfig } from './media-types.js';
import { resolveUser } from './user.js';

export interface ConvertOptions {
  /** The image's name (for messages and annotations). */
  name: string;
  /** Manifest digest. */
  digest: string;
  /** Replaces Cmd (Docker's `docker run IMAGE ARGS…`). */
  args?: string[];
  /** Replaces Entrypoint, and then the image's Cmd is not used (as Docker does); [] for none. */
  entrypoint?: string[];
  /** More environment (KEY=VALUE), overriding the image's. */
  env?: string[];
  /** The container's root: root.path. */
  rootfs: string;
  /** Anonymous volume directories for config.Volumes (destination → host dir). */
  volumeDir?: (destination: string, index: number) => string;
  terminal?: boolean;
  /** Image files for User resolution. */
  passwd?: string;
  group?: string;
}

export interface Provenance {
  image: string;
  runtime: string;
  value: unknown;
}

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function imageToSpec(config: ImageConfig, o: ConvertOptions): { spec: Spec; provenance: Provenance[] } {
  const c = config.config ?? {};
  const prov: Provenance[] = [];
  const spec = defaultSpec();
  const proc = spec.process as NonNullable<Spec['process']>;
  proc.terminal = o.terminal ?? false;
  spec.root = { path: o.rootfs, readonly: false };
  spec.hostname = undefined as never;
  delete spec.hostname;

  const entrypoint = o.entrypoint ?? c.Entrypoint ?? [];
  const cmd = o.args?.length ? o.args : o.entrypoint ? [] : (c.Cmd ?? []);
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) throw imageError.store(`image ${o.name} has no Entrypoint or Cmd: give the command to run`);
  proc.args = args;
  prov.push({ image: o.entrypoint ? '--entrypoint' : 'config.Entrypoint', runtime: 'process.args (head)', value: entrypoint });
  prov.push({
    image: o.args?.length ? 'command-line arguments' : o.entrypoint ? '(none: --entrypoint drops Cmd)' : 'config.Cmd',
    runtime: 'process.args (tail)',
    value: cmd,
  });

  const env = new Map<string, string>();
  for (const e of [...(c.Env ?? []), ...(o.env ?? [])]) {
    const eq = e.indexOf('=');
    env.set(eq < 0 ? e : e.slice(0, eq), e);
  }
  if (!env.has('PATH')) env.set('PATH', DEFAULT_PATH);
  proc.env = [...env.values()];
  prov.push({ image: 'config.Env', runtime: 'process.env', value: proc.env });

  proc.cwd = c.WorkingDir || '/';
  if (c.WorkingDir) prov.push({ image: 'config.WorkingDir', runtime: 'process.cwd', value: proc.cwd });

  proc.user = resolveUser(c.User, o.passwd, o.group, o.name);
  if (c.User) prov.push({ image: "config.User (with the image's /etc/passwd, /etc/group)", runtime: 'process.user', value: proc.user });

  // A container from an image runs as Docker's do: its default capability set, not runc spec's three.
  const caps = [
    'CAP_CHOWN',
    'CAP_DAC_OVERRIDE',
    'CAP_FSETID',
    'CAP_FOWNER',
    'CAP_MKNOD',
    'CAP_NET_RAW',
    'CAP_SETGID',
    'CAP_SETUID',
    'CAP_SETFCAP',
    'CAP_SETPCAP',
    'CAP_NET_BIND_SERVICE',
    'CAP_SYS_CHROOT',
    'CAP_KILL',
    'CAP_AUDIT_WRITE',
  ];
  proc.capabilities = { bounding: [...caps], effective: [...caps], permitted: [...caps] };
  proc.noNewPrivileges = false;

  const annotations: Record<string, string> = { ...(c.Labels ?? {}) };
  if (c.Labels && Object.keys(c.Labels).length) prov.push({ image: 'config.Labels', runtime: 'annotations', value: c.Labels });
  if (c.StopSignal) {
    annotations['org.opencontainers.image.stopSignal'] = c.StopSignal;
    prov.push({ image: 'config.StopSignal', runtime: 'annotations["org.opencontainers.image.stopSignal"]', value: c.StopSignal });
  }
  if (c.ExposedPorts && Object.keys(c.ExposedPorts).length) {
    annotations['org.opencontainers.image.exposedPorts'] = Object.keys(c.ExposedPorts).join(',');
    prov.push({
      image: 'config.ExposedPorts',
      runtime: 'annotations["org.opencontainers.image.exposedPorts"]',
      value: annotations['org.opencontainers.image.exposedPorts'],
    });
  }
  if (config.os) annotations['org.opencontainers.image.os'] = config.os;
  if (config.architecture) annotations['org.opencontainers.image.architecture'] = config.architecture;
  if (config.variant) annotations['org.opencontainers.image.variant'] = config.variant;
  if (config.author) annotations['org.opencontainers.image.author'] = config.author;
  if (config.created) annotations['org.opencontainers.image.created'] = config.created;
  annotations['org.opencontainers.image.ref.name'] = o.name;
  annotations['org.opencontainers.image.digest'] = o.digest;
  spec.annotations = annotations;

  const volumes = Object.keys(c.Volumes ?? {});
  if (volumes.length && o.volumeDir) {
    const mounts: Mount[] = volumes.map((dest, i) => ({
      destination: dest,
      type: 'bind',
      source: (o.volumeDir as NonNullable<typeof o.volumeDir>)(dest, i),
      options: ['rbind', 'rw'],
    }));
    spec.mounts = [...(spec.mounts ?? []), ...mounts];
    prov.push({ image: 'config.Volumes', runtime: 'mounts (a directory of the container each, removed with it)', value: volumes });
  }
  return { spec, provenance: prov };
}
