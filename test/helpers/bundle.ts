// Test bundles: /tmp/runt-test-XXXXXX/ with a copy of the busybox rootfs and a config.json made from
// the default spec (`runt spec`), changed by the test.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import { defaultSpec } from '../../src/spec/default.js';
import type { Mount, Spec } from '../../src/spec/types.js';
import { REPO } from './runt.js';
import { removeAtTeardown } from './cleanup.js';

const EXAMPLE_ROOTFS = join(REPO, 'examples/busybox/rootfs');
const BUILT_ROOTFS = '/tmp/runt-test-rootfs';

/** A busybox rootfs to copy: the example one, or one built once with scripts/make-rootfs.sh. */
export function sourceRootfs(): string {
  if (existsSync(join(EXAMPLE_ROOTFS, 'bin/busybox'))) return EXAMPLE_ROOTFS;
  if (!existsSync(join(BUILT_ROOTFS, 'bin/busybox'))) {
    execFileSync('bash', [join(REPO, 'scripts/make-rootfs.sh'), BUILT_ROOTFS], { stdio: 'ignore' });
  }
  return BUILT_ROOTFS;
}

export interface Bundle {
  dir: string;
  rootfs: string;
  configPath: string;
  /** The config; call write() after changing it. */
  spec: Spec;
  write(): void;
  /** A new empty directory in the bundle (outside the rootfs), writable by anyone. */
  hostDir(name: string): string;
  /** A host directory bind-mounted read-write at `dest` in the container; returns its host path. */
  share(dest?: string, options?: string[]): string;
}

/** `args`: the process args, or a string run as `sh -c <string>`. `patch` changes the spec (it may
 *  call bundle.share / hostDir); the config is written after it. Removed when the test ends. */
export function makeBundle(t: Test, args: string[] | string = ['sh'], patch?: (spec: Spec, bundle: Bundle) => void): Bundle {
  const dir = mkdtempSync('/tmp/runt-test-');
  removeAtTeardown(t, dir);
  // Processes in a user namespace must be able to reach the rootfs through the bundle directory.
  chmodSync(dir, 0o755);
  const rootfs = join(dir, 'rootfs');
  execFileSync('cp', ['-a', sourceRootfs(), rootfs]);

  const spec = defaultSpec();
  spec.process!.terminal = false;
  spec.process!.args = typeof args === 'string' ? ['sh', '-c', args] : args;

  let shares = 0;
  const bundle: Bundle = {
    dir,
    rootfs,
    configPath: join(dir, 'config.json'),
    spec,
    write: () => writeFileSync(bundle.configPath, `${JSON.stringify(bundle.spec, null, '\t')}\n`),
    hostDir: (name) => {
      const path = join(dir, name);
      mkdirSync(path, { recursive: true });
      chmodSync(path, 0o777);
      return path;
    },
    share: (dest = '/m', options = ['rbind', 'rw']) => {
      shares += 1;
      const source = bundle.hostDir(`share-${shares}`);
      const mount: Mount = { destination: dest, type: 'bind', source, options };
      (bundle.spec.mounts ??= []).push(mount);
      bundle.write();
      return source;
    },
  };
  patch?.(spec, bundle);
  bundle.write();
  return bundle;
}
