// A QEMU guest the tests boot themselves, to run runt against a real cgroup v2 kernel (this host is
// hybrid). No KVM here: QEMU's TCG. The kernel is Debian's own (linux-image-amd64's current
// dependency, downloaded once with apt-get and unpacked into a cache directory outside the
// repository). The initramfs, built once per kernel and node binary and cached beside it, holds
// busybox, the host's node with the libraries ldd names, and the virtio and 9p modules. The checkout
// is shared read-only over 9p (tag `repo`), a per-run directory read-write (tag `run`): the guest
// runs `run/guest.sh` and writes its results there; the console goes to `run/console.log`.
import type { Test } from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO } from './runt.js';

export const VM_CACHE = process.env.RUNT_TEST_VM_CACHE ?? '/var/cache/runt-test/vm';
const QEMU = 'qemu-system-x86_64';
/** Mount points of the shares inside the guest. */
export const GUEST_REPO = '/mnt/repo';
export const GUEST_RUN = '/mnt/run';
/** Modules the guest loads (with what they depend on): the PCI transport, 9p over virtio, a disk,
 *  and ext4 with the crc32c it asks the crypto API for, for a root image (the systemd guest). */
const MODULES = ['virtio_pci', '9pnet_virtio', '9p', 'virtio_blk', 'crc32c_generic', 'ext4'];
export const GUEST_HOSTBIN = '/mnt/hostbin';

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
//
// With runt.root=DEV on the command line (a root image, systemd-root below), the init instead mounts
// DEV and the shares in it and hands over to its /sbin/init (systemd).
const GUEST_INIT = `#!/bin/busybox sh
export PATH=/bin:/usr/bin HOME=/root
/bin/busybox mount -t proc proc /proc
root=$(/bin/busybox sed -n 's/.*runt\\.root=\\([^ ]*\\).*/\\1/p' /proc/cmdline)
if [ -n "$root" ]; then
  /bin/busybox mount -t devtmpfs devtmpfs /dev
  for m in $(/bin/busybox cat /modules.list); do /bin/busybox insmod "/$m"; done
  /bin/busybox mkdir -p /newroot
  /bin/busybox mount -t ext4 "$root" /newroot
  /bin/busybox mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose repo /newroot${GUEST_REPO}
  /bin/busybox mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 run /newroot${GUEST_RUN}
  /bin/busybox mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose hostbin /newroot${GUEST_HOSTBIN}
  /bin/busybox umount /dev
  /bin/busybox umount /proc
  exec /bin/busybox switch_root /newroot /sbin/init
fi
/bin/busybox umount /proc
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
    .digest('hex')
    .slice(0, 16);
  const out = join(VM_CACHE, `initramfs-${key}.cpio`);
  if (existsSync(out)) return out;

  const root = join(VM_CACHE, `.initramfs-${process.pid}`);
  rmSync(root, { recursive: true, force: true });
  try {
    for (const d of ['bin', 'usr/bin', 'proc', 'sys', 'dev', 'tmp', 'run', 'root', 'etc', GUEST_REPO, GUEST_RUN, GUEST_HOSTBIN]) {
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
  /** A root image to boot (read-only: the guest's writes go to a temporary overlay) instead of the
   *  initramfs alone; it becomes /dev/vda and its /sbin/init runs. */
  rootImage?: string;
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
    '-machine',
    'pc',
    '-cpu',
    'max',
    '-smp',
    '1',
    '-m',
    String(o.memoryMb ?? 1024),
    '-display',
    'none',
    '-monitor',
    'none',
    '-no-reboot',
    '-serial',
    `file:${consoleLog}`,
    '-kernel',
    o.kernel.vmlinuz,
    '-initrd',
    o.initramfs,
    '-append',
    `console=ttyS0 panic=-1 quiet loglevel=4 ${o.rootImage ? 'runt.root=/dev/vda' : ''} ${o.append ?? ''}`.trim(),
    '-virtfs',
    `local,path=${REPO},mount_tag=repo,security_model=none,readonly=on`,
    '-virtfs',
    `local,path=${o.runDir},mount_tag=run,security_model=none`,
    '-virtfs',
    `local,path=${dirname(process.execPath)},mount_tag=hostbin,security_model=none,readonly=on`,
    // The root image, or a block device for io.max and the device filter: reads return zeros,
    // writes vanish.
    '-drive',
    o.rootImage ? `file=${o.rootImage},if=virtio,format=raw,snapshot=on` : 'file=null-co://,if=virtio,format=raw',
  ];
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const qemu = spawn(QEMU, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    qemu.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
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

export const SYSTEMD_ROOT_CACHE = process.env.RUNT_TEST_SYSTEMD_ROOT_CACHE ?? '/var/cache/runt-test/systemd-root';
/** Debian packages of the systemd guest: systemd as PID 1 and the system bus; node's and the
 *  addon's libraries (the host's node binary is shared in over 9p); podman, an engine that drives
 *  the runtime with --systemd-cgroup. */
const SYSTEMD_ROOT_PACKAGES = ['systemd-sysv', 'dbus', 'libstdc++6', 'libseccomp2', 'podman'];
/** Units a test boot does not need (they cost seconds under TCG). */
const SYSTEMD_MASKED = [
  'serial-getty@ttyS0.service',
  'getty@tty1.service',
  'systemd-timesyncd.service',
  'apt-daily.timer',
  'apt-daily-upgrade.timer',
  'e2scrub_reap.service',
  'e2scrub_all.timer',
  'fstrim.timer',
  'systemd-logind.service',
  'dpkg-db-backup.timer',
  'systemd-tmpfiles-clean.timer',
  'man-db.timer',
  'systemd-pstore.service',
];
/** Runs the test's guest.sh once the system bus is up, then powers the guest off either way. */
const SYSTEMD_TEST_UNIT = `[Unit]
Description=runt VM test
Wants=dbus.service
After=dbus.service basic.target
SuccessAction=poweroff-force
FailureAction=poweroff-force

[Service]
Type=oneshot
ExecStart=/bin/sh ${GUEST_RUN}/guest.sh
StandardOutput=journal+console
StandardError=journal+console
TimeoutStartSec=infinity
`;

/** The systemd guest's root image (ext4, from mmdebstrap), cached; built when missing if `build` is
 *  set (it takes two or three minutes). A string says why there is none. */
export function ensureSystemdRoot(build: boolean): string {
  const key = createHash('sha256')
    .update(JSON.stringify([SYSTEMD_ROOT_PACKAGES, SYSTEMD_MASKED, SYSTEMD_TEST_UNIT]))
    .digest('hex')
    .slice(0, 16);
  const img = join(SYSTEMD_ROOT_CACHE, `root-${key}.img`);
  if (existsSync(img)) return img;
  if (!build) return `no cached systemd root image (${img}); RUNT_TEST_SYSTEMD_VM=0 turned off building it with mmdebstrap`;
  for (const tool of ['mmdebstrap', 'mke2fs']) if (!which(tool) && !existsSync(`/usr/sbin/${tool}`)) return `no ${tool}`;
  mkdirSync(SYSTEMD_ROOT_CACHE, { recursive: true });
  const dir = join(SYSTEMD_ROOT_CACHE, `.root-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  try {
    execFileSync('mmdebstrap', ['--quiet', '--variant=essential', `--include=${SYSTEMD_ROOT_PACKAGES.join(',')}`, 'bookworm', dir], {
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 15 * 60_000,
    });
    const sys = join(dir, 'etc/systemd/system');
    for (const unit of SYSTEMD_MASKED) execFileSync('ln', ['-sf', '/dev/null', join(sys, unit)]);
    writeFileSync(join(sys, 'runt-vm.service'), SYSTEMD_TEST_UNIT);
    mkdirSync(join(sys, 'multi-user.target.wants'), { recursive: true });
    execFileSync('ln', ['-sf', '/etc/systemd/system/runt-vm.service', join(sys, 'multi-user.target.wants/runt-vm.service')]);
    for (const d of [GUEST_REPO, GUEST_RUN, GUEST_HOSTBIN]) mkdirSync(join(dir, d), { recursive: true });
    writeFileSync(join(dir, 'etc/hostname'), 'runt-vm\n');
    const tmp = `${img}.${process.pid}`;
    execFileSync(which('mke2fs') ?? '/usr/sbin/mke2fs', ['-q', '-t', 'ext4', '-L', 'runt-root', '-d', dir, tmp, '1G']);
    renameSync(tmp, img);
    for (const f of readdirSync(SYSTEMD_ROOT_CACHE)) {
      if (/^root-[0-9a-f]+\.img$/.test(f) && join(SYSTEMD_ROOT_CACHE, f) !== img) rmSync(join(SYSTEMD_ROOT_CACHE, f), { force: true });
    }
  } catch (e) {
    return `building the systemd root failed: ${(e as Error).message.split('\n').slice(0, 3).join(' ')}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return img;
}

/** A guest program (TypeScript under test/vm/) as JavaScript whose imports of ../../src/ name the
 *  checkout's dist/src in the guest: the guest runs the compiled library users load. An import of a
 *  sibling module (`./guest-results.js`) becomes a data: URL of that module, made the same way: the
 *  guest has no TypeScript, and the program runs from elsewhere than test/vm/. (A data: module
 *  resolves only URLs and builtins, so dist/src is named by a file: URL.) */
export async function guestProgram(file: string): Promise<string> {
  const { default: ts } = await import('typescript');
  const js = ts.transpileModule(readFileSync(join(REPO, file), 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  let out = js.replace(/from '\.\.\/\.\.\/src\//g, `from 'file://${GUEST_REPO}/dist/src/`);
  for (const [from, name] of js.matchAll(/from '\.\/([\w-]+)\.js'/g)) {
    const sibling = await guestProgram(join(dirname(file), `${name}.ts`));
    out = out.replace(from, `from 'data:text/javascript;base64,${Buffer.from(sibling).toString('base64')}'`);
  }
  return out;
}

type Asserts = Pick<Test, 'same' | 'fail' | 'ok' | 'equal' | 'comment'>;

/** Assert every line the guest wrote to results.jsonl: {name, got, want} checks, "<group>: threw"
 *  failures, {group, ms} ends of groups and a last {done}. */
export function assertGuestResults(t: Asserts, r: VmRun, runDir: string, groups: string[]): void {
  t.comment(`VM ran ${(r.ms / 1000).toFixed(1)} s${r.timedOut ? ' (killed at the deadline)' : ''}`);
  const file = join(runDir, 'results.jsonl');
  const results = existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
    : [];
  const ran: string[] = [];
  let done = false;
  for (const res of results) {
    if (res.done) done = true;
    else if (typeof res.group === 'string') {
      ran.push(res.group);
      t.comment(`  ${res.group}: ${res.ms} ms`);
    } else if (String(res.name).endsWith(': threw')) t.fail(String(res.name), { got: res.got });
    else t.same(res.got, res.want, String(res.name));
  }
  // The console's tail goes with the failure itself: a reporter that prints no comments (CI's)
  // still shows why the guest stopped.
  const tail = done && !r.timedOut ? {} : { console: r.console.split('\n').slice(-60).join('\n') };
  t.same(ran, groups, 'every group ran in the guest');
  t.ok(done, 'the guest program finished', tail);
  t.equal(r.timedOut, false, 'the guest powered off before the deadline', tail);
}
