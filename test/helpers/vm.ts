// A QEMU guest the tests boot themselves, to run runt against a real cgroup v2 kernel (this host is
// hybrid). No KVM here: QEMU's TCG. The kernel is Debian's own (linux-image-amd64's current
// dependency, downloaded once with apt-get and unpacked into a cache directory outside the
// repository). The initramfs, built once per kernel and node binary and cached beside it, holds
// busybox, the host's node with the libraries ldd names, and the virtio and 9p modules. The checkout
// is shared read-only over 9p (tag `repo`), a per-run directory read-write (tag `run`): the guest
// runs `run/guest.sh` and writes its results there; the console goes to `run/console.log`.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO } from './runt.js';

export const VM_CACHE = process.env.RUNT_TEST_VM_CACHE ?? '/var/cache/runt-test/vm';
const QEMU = 'qemu-system-x86_64';
/** Mount points of the shares inside the guest. */
export const GUEST_REPO = '/mnt/repo';
export const GUEST_RUN = '/mnt/run';
/** Modules the guest loads (with what they depend on): the PCI transport, 9p over virtio, a disk. */
const MODULES = ['virtio_pci', '9pnet_virtio', '9p', 'virtio_blk'];

function which(cmd: string): string | undefined {
  for (const d of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    if (existsSync(join(d, cmd))) return join(d, cmd);
  }
  return undefined;
}

export interface Kernel {
  version: string;
  vmlinuz: string;
  modules: string;
}

/** The kernel in the cache, or downloaded there now; a string says why there is none. */
export function ensureKernel(): Kernel | string {
  const found = cachedKernel();
  if (found) return found;
  if (!which('apt-get') || !which('dpkg-deb')) return 'no apt-get/dpkg-deb to fetch a kernel';
  let pkg: string;
  try {
    const show = execFileSync('apt-cache', ['show', 'linux-image-amd64'], { encoding: 'utf8' });
    const m = /^Depends: (linux-image-[^\s,]+)/m.exec(show);
    if (!m) return 'apt-cache show linux-image-amd64 names no kernel package';
    pkg = m[1];
  } catch {
    return 'apt-cache knows no linux-image-amd64 (run apt-get update)';
  }
  mkdirSync(VM_CACHE, { recursive: true });
  const tmp = join(VM_CACHE, `.download-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    // Debian's _apt user cannot write into a root-owned cache: the download runs unsandboxed.
    execFileSync('apt-get', ['-q', '-o', 'APT::Sandbox::User=root', 'download', pkg], { cwd: tmp, stdio: 'ignore', timeout: 300_000 });
    const deb = readdirSync(tmp).find((f) => f.endsWith('.deb'));
    if (!deb) return `apt-get download ${pkg} fetched nothing`;
    execFileSync('dpkg-deb', ['-x', join(tmp, deb), join(tmp, 'kernel')]);
    rmSync(join(VM_CACHE, 'kernel'), { recursive: true, force: true });
    renameSync(join(tmp, 'kernel'), join(VM_CACHE, 'kernel'));
  } catch (e) {
    return `cannot download the kernel package ${pkg}: ${(e as Error).message.split('\n')[0]}`;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return cachedKernel() ?? `${pkg} holds no vmlinuz`;
}

function cachedKernel(): Kernel | undefined {
  const boot = join(VM_CACHE, 'kernel/boot');
  const vmlinuz = existsSync(boot) ? readdirSync(boot).find((f) => f.startsWith('vmlinuz-')) : undefined;
  if (!vmlinuz) return undefined;
  const version = vmlinuz.slice('vmlinuz-'.length);
  const modules = join(VM_CACHE, 'kernel/lib/modules', version);
  return existsSync(modules) ? { version, vmlinuz: join(boot, vmlinuz), modules } : undefined;
}

/** `names` and everything they depend on, in load order, as paths below modulesDir. The package
 *  ships no modules.dep (its postinst runs depmod, which this host may lack): each module's own
 *  .modinfo section names its dependencies (`depends=a,b`). */
function moduleClosure(modulesDir: string, names: string[]): string[] {
  const byName = new Map<string, string>();
  const walk = (rel: string) => {
    for (const e of readdirSync(join(modulesDir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ko')) byName.set(e.name.slice(0, -3).replace(/-/g, '_'), p);
    }
  };
  walk('kernel');
  const order: string[] = [];
  const visit = (name: string) => {
    const p = byName.get(name.replace(/-/g, '_'));
    if (!p) throw new Error(`kernel module ${name} is not in ${modulesDir}`);
    if (order.includes(p)) return;
    const m = /\0depends=([^\0]*)\0/.exec(readFileSync(join(modulesDir, p), 'latin1'));
    for (const d of (m?.[1] ?? '').split(',').filter(Boolean)) visit(d);
    order.push(p);
  };
  for (const n of names) visit(n);
  return order;
}

/** Shared libraries a binary loads, as ldd resolves them on this host. */
function libraries(binary: string): string[] {
  const out = execFileSync('ldd', [binary], { encoding: 'utf8' });
  return [...out.matchAll(/(\/\S+\.so[.\d]*)/g)].map((m) => m[1]);
}

// pivot_root(2) refuses a root on the initial ramfs (EINVAL), and runt pivots into every container:
// the init first moves everything to a tmpfs and switches its root there.
const GUEST_INIT = `#!/bin/busybox sh
export PATH=/bin:/usr/bin HOME=/root
if [ ! -e /.tmpfs-root ]; then
  /bin/busybox mkdir /newroot
  /bin/busybox mount -t tmpfs -o mode=0755 tmpfs /newroot
  for f in /*; do [ "$f" = /newroot ] || /bin/busybox cp -a "$f" /newroot/; done
  /bin/busybox touch /newroot/.tmpfs-root
  exec /bin/busybox switch_root /newroot /init
fi
/bin/busybox --install -s /bin 2>/dev/null
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
for m in $(cat /modules.list); do insmod "/$m" || echo "guest: insmod $m failed"; done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose repo ${GUEST_REPO} &&
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 run ${GUEST_RUN} &&
sh ${GUEST_RUN}/guest.sh
echo "guest: guest.sh exited $?"
sync
poweroff -f
`;

/** The initramfs (an uncompressed newc cpio: TCG spends seconds on inflating), built when missing. */
export function ensureInitramfs(kernel: Kernel): string {
  const node = process.execPath;
  const addon = join(REPO, 'build/Release/runt.node');
  const libs = [...new Set([...libraries(node), ...(existsSync(addon) ? libraries(addon) : [])])].sort();
  const key = createHash('sha256')
    .update(JSON.stringify([kernel.version, node, statSync(node).size, statSync(node).mtimeMs, libs, GUEST_INIT, MODULES]))
    .digest('hex').slice(0, 16);
  const out = join(VM_CACHE, `initramfs-${key}.cpio`);
  if (existsSync(out)) return out;

  const root = join(VM_CACHE, `.initramfs-${process.pid}`);
  rmSync(root, { recursive: true, force: true });
  try {
    for (const d of ['bin', 'usr/bin', 'proc', 'sys', 'dev', 'tmp', 'run', 'root', 'etc', GUEST_REPO, GUEST_RUN]) {
      mkdirSync(join(root, d), { recursive: true });
    }
    copyFileSync(which('busybox') ?? '/bin/busybox', join(root, 'bin/busybox'));
    chmodSync(join(root, 'bin/busybox'), 0o755);
    copyFileSync(node, join(root, 'usr/bin/node'));
    chmodSync(join(root, 'usr/bin/node'), 0o755);
    for (const lib of libs) {
      mkdirSync(join(root, dirname(lib)), { recursive: true });
      copyFileSync(lib, join(root, lib));
    }
    const mods = moduleClosure(kernel.modules, MODULES);
    for (const m of mods) {
      const dst = join(root, 'lib/modules', kernel.version, m);
      mkdirSync(dirname(dst), { recursive: true });
      copyFileSync(join(kernel.modules, m), dst);
    }
    writeFileSync(join(root, 'modules.list'), `${mods.map((m) => `lib/modules/${kernel.version}/${m}`).join('\n')}\n`);
    writeFileSync(join(root, 'init'), GUEST_INIT, { mode: 0o755 });
    writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\n');
    const tmp = `${out}.${process.pid}`;
    execFileSync('sh', ['-c', `cd "${root}" && find . | cpio -o -H newc --quiet > "${tmp}"`]);
    renameSync(tmp, out);
    // Images made for an older kernel, node or init script.
    for (const f of readdirSync(VM_CACHE)) {
      if (/^initramfs-[0-9a-f]+\.cpio$/.test(f) && join(VM_CACHE, f) !== out) rmSync(join(VM_CACHE, f), { force: true });
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return out;
}

/** Why the VM cannot run here, or false. */
export function vmUnavailable(): string | false {
  if (!which(QEMU)) return `no ${QEMU} (apt-get install qemu-system-x86)`;
  if (!which('cpio')) return 'no cpio (apt-get install cpio)';
  if (!existsSync(join(REPO, 'dist/src/index.js'))) return 'dist/ is not built (npm run build:ts)';
  if (!existsSync(join(REPO, 'build/Release/runt.node'))) return 'the addon is not built (npx node-gyp build)';
  return false;
}

export interface VmRun {
  /** Exit status of QEMU (null when killed at the deadline). */
  code: number | null;
  timedOut: boolean;
  console: string;
  ms: number;
}

export interface VmOptions {
  kernel: Kernel;
  initramfs: string;
  /** The read-write share: must hold guest.sh. */
  runDir: string;
  memoryMb?: number;
  timeoutMs: number;
  /** Extra kernel command line. */
  append?: string;
}

/** Boot the guest and wait for it to power off (QEMU is killed, by pid, at the deadline). */
export function runVm(o: VmOptions): Promise<VmRun> {
  const consoleLog = join(o.runDir, 'console.log');
  const args = [
    '-machine', 'pc', '-cpu', 'max', '-smp', '1', '-m', String(o.memoryMb ?? 1024),
    '-display', 'none', '-monitor', 'none', '-no-reboot',
    '-serial', `file:${consoleLog}`,
    '-kernel', o.kernel.vmlinuz, '-initrd', o.initramfs,
    '-append', `console=ttyS0 panic=-1 quiet loglevel=4 ${o.append ?? ''}`.trim(),
    '-virtfs', `local,path=${REPO},mount_tag=repo,security_model=none,readonly=on`,
    '-virtfs', `local,path=${o.runDir},mount_tag=run,security_model=none`,
    // A block device for io.max and the device filter: reads return zeros, writes vanish.
    '-drive', 'file=null-co://,if=virtio,format=raw',
  ];
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const qemu = spawn(QEMU, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    qemu.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (qemu.pid) process.kill(qemu.pid, 'SIGKILL');
    }, o.timeoutMs);
    qemu.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    qemu.on('exit', (code) => {
      clearTimeout(timer);
      const text = existsSync(consoleLog) ? readFileSync(consoleLog, 'utf8') : '';
      resolve({ code, timedOut, console: text + (stderr ? `\n[qemu stderr] ${stderr}` : ''), ms: Date.now() - started });
    });
  });
}
