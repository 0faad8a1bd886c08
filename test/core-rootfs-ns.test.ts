// The container's root and its mount namespace, as the spec allows them: no mount namespace at all
// (the rootfs set up in the caller's namespace, a chroot, everything detached at delete), a mount
// namespace joined by path, and every linux.rootfsPropagation value, each seen from inside.
// Containers that share the caller's mount namespace run under `unshare -m --propagation private`,
// so the host's own namespace never sees their mounts.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Spec } from '../src/spec/types.js';
import { CLI, describe, makeBundle, onTeardown, stateRoot, waitFor } from './helpers/index.js';
import { explainJson } from './explain-fixtures.js';

const PRIVATE_NS = ['unshare', '-m', '--propagation', 'private'];
const noMountNs = (s: Spec) => {
  s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'mount');
};

t.test("no mount namespace: the rootfs is set up in the caller's namespace, chrooted into, and detached at delete", async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'readlink /proc/self/ns/mnt; cat /marker; grep -c " /proc " /proc/self/mountinfo', (s, b) => {
    noMountNs(s);
    writeFileSync(join(b.rootfs, 'marker'), 'inside the rootfs\n');
  });
  const plan = explainJson(root, b, root.id('plan')).steps.map((s) => s.op);
  t.ok(plan.includes('chroot') && !plan.includes('pivotRoot'), 'explain shows a chroot, no pivot_root');

  // One private namespace for runt and for the checks after it (a shell around runt).
  const id = root.id('nomntns');
  const script = `"$@"; rc=$?; echo "outer=$(readlink /proc/self/ns/mnt)"; echo "left=$(grep -c '${b.dir}' /proc/self/mountinfo)"; exit $rc`;
  const r = root.runt(['run', '--bundle', b.dir, id], { wrapper: [...PRIVATE_NS, 'sh', '-c', script, 'sh'] });
  t.equal(r.code, 0, describe(r));
  const lines = r.stdout.trim().split('\n');
  const outer = lines.find((l) => l.startsWith('outer='))!.slice(6);
  t.equal(lines[0], outer, 'the container is in the mount namespace runt ran in');
  t.equal(lines[1], 'inside the rootfs', 'its / is the rootfs');
  t.ok(Number(lines[2]) >= 1, "the config's proc mount is there");
  t.equal(
    lines.find((l) => l.startsWith('left=')),
    'left=0',
    'after delete, no mount under the bundle is left in that namespace',
  );
});

t.test("no mount namespace: exec enters the container's root", async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, ['sleep', '1000'], (s, b) => {
    noMountNs(s);
    writeFileSync(join(b.rootfs, 'marker'), 'inside the rootfs\n');
  });
  const id = root.id('nomntns-exec');
  const runt = `"${process.execPath}" "${CLI}" --root "${root.path}"`;
  const script = [
    `${runt} run --detach --bundle "${b.dir}" ${id} >/dev/null 2>&1 </dev/null || exit 1`,
    `${runt} exec ${id} cat /marker`,
    `${runt} delete --force ${id}`,
    `echo "left=$(grep -c '${b.dir}' /proc/self/mountinfo)"`,
  ].join('\n');
  const r = spawnSync(PRIVATE_NS[0], [...PRIVATE_NS.slice(1), 'sh', '-c', script], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, NODE_OPTIONS: '', NODE_EXTRA_CA_CERTS: '' },
  });
  t.equal(r.status, 0, `${r.stderr}`);
  t.equal(r.stdout, 'inside the rootfs\nleft=0\n', 'exec saw the rootfs as /; delete left no mount behind');
});

t.test('a mount namespace joined by path', async (t) => {
  const root = stateRoot(t);
  const holder = spawn(PRIVATE_NS[0], [...PRIVATE_NS.slice(1), 'sleep', '1000'], { stdio: 'ignore' });
  onTeardown(t, () => {
    holder.kill('SIGKILL');
  });
  const nsPath = `/proc/${holder.pid}/ns/mnt`;
  // The holder is in its own namespace once its mnt link differs from ours.
  await waitFor("the holder's mount namespace", () => {
    try {
      return readlinkSync(nsPath) !== readlinkSync('/proc/self/ns/mnt');
    } catch {
      return false;
    }
  });
  const b = makeBundle(t, 'readlink /proc/self/ns/mnt', (s) => {
    s.linux!.namespaces = s.linux!.namespaces!.map((n) => (n.type === 'mount' ? { type: 'mount', path: nsPath } : n));
  });
  const r = root.run(b);
  t.equal(r.code, 0, describe(r));
  t.equal(r.stdout.trim(), readlinkSync(nsPath), 'the container is in the joined namespace');
});

t.test('every rootfsPropagation value, seen on / from inside', async (t) => {
  const root = stateRoot(t);
  const expect: Record<string, RegExp> = {
    shared: /\bshared:\d+/,
    rshared: /\bshared:\d+/,
    unbindable: /\bunbindable\b/,
    runbindable: /\bunbindable\b/,
    private: /^[^-]*- /,
    rprivate: /^[^-]*- /,
    slave: /^(?![^-]*shared:)[^-]*- /,
    rslave: /^(?![^-]*shared:)[^-]*- /,
  };
  for (const [value, want] of Object.entries(expect)) {
    const b = makeBundle(t, "grep -E '^[0-9]+ [0-9]+ [^ ]+ [^ ]+ / ' /proc/self/mountinfo | tail -1", (s) => {
      s.linux!.rootfsPropagation = value as NonNullable<Spec['linux']>['rootfsPropagation'];
    });
    const r = root.run(b);
    t.equal(r.code, 0, `${value}: ${describe(r)}`);
    const optional = r.stdout.trim().split(' ').slice(6).join(' ');
    t.match(optional, want, `${value}: / has "${optional.split(' - ')[0] || '(no propagation field: private)'}"`);
    if (value.includes('private')) t.notMatch(optional.split(' - ')[0], /shared|master|unbindable/, `${value}: nothing but private`);
  }
});

t.test('the rootfs of a container without a mount namespace is named in the plan', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'true', noMountNs);
  const steps = explainJson(root, b, root.id('plan2')).steps;
  const bind = steps.find((s) => s.op === 'mount' && s.field === 'root.path');
  t.match((bind as unknown as { why?: string } | undefined)?.why, /caller's namespace/, 'the bind says where it is made');
  t.notOk(
    steps.some((s) => s.op === 'mount' && (s.args as { target?: string }).target === '/' && s.field === 'linux.rootfsPropagation'),
    "the caller's / is left alone",
  );
});
