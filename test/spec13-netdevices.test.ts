// linux.netDevices: a device of the runtime's network namespace is moved into the container's,
// renamed, with its permanent addresses, and up. Never on the host: runt runs inside a network
// namespace this test makes (unshare --net), where it creates a veth pair first (dev0 moves, peer0
// stays). After the container is gone the device is not moved back (config-linux.md: the runtime
// MUST NOT); the kernel destroys a virtual device with its namespace (and a veth's peer with it).
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { describe, errorLines, makeBundle, stateRoot } from './helpers/index.js';

function probe(): string | null {
  try {
    execFileSync('unshare', ['--net', 'sh', '-c', 'ip link add probe0 type veth peer name probe1 && ip link del probe0'], {
      stdio: 'ignore',
    });
    return null;
  } catch {
    return 'cannot make a veth pair in a new network namespace (unshare --net, ip, the veth module)';
  }
}
const skip = probe();

/** Runs runt in a fresh network namespace holding dev0 (10.9.8.7/24, fd00::7/64) and its veth peer; after runt
 *  (and once peer0 is gone, or 10 s), prints "--- after" and the namespace's links. */
function inOwnNetns(): string[] {
  const setup = [
    'ip link add dev0 type veth peer name peer0',
    'ip addr add 10.9.8.7/24 dev dev0',
    'ip addr add fd00::7/64 dev dev0 nodad',
    '"$@"; rc=$?',
    // The kernel destroys a namespace (and its veth with the peer) in a work queue after its last
    // user is gone: under load that comes a moment after runt exits. Up to 10 s for it, then the list.
    'i=0; while ip link show peer0 >/dev/null 2>&1 && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done',
    'echo "--- after"; ip -o link show',
    'exit $rc',
  ].join('\n');
  return ['unshare', '--net', 'sh', '-c', setup, 'sh'];
}

const INSIDE =
  'ls /sys/class/net | tr "\\n" " "; echo; cat /sys/class/net/ctr0/flags; grep -c "10.9.8.7" /proc/net/fib_trie; grep -c "fd000000000000000000000000000007" /proc/net/if_inet6';

t.test('a veth device moves in renamed, keeps its addresses, is up; afterwards it is gone', { skip: skip ?? false }, async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, INSIDE, (s) => {
    s.linux!.netDevices = { dev0: { name: 'ctr0' } };
  });
  const r = root.run(b, undefined, [], { wrapper: inOwnNetns() });
  t.equal(r.code, 0, describe(r));
  const [inside, after = ''] = r.stdout.split('--- after\n');
  const [links, flags, v4, v6] = inside.trim().split('\n');
  t.same(links.trim().split(' ').sort(), ['ctr0', 'lo'], 'the container sees lo and ctr0');
  t.ok((parseInt(flags, 16) & 1) === 1, `ctr0 is up (flags ${flags})`);
  t.not(Number(v4), 0, '10.9.8.7 kept');
  t.equal(Number(v6), 1, 'fd00::7 kept');
  t.notMatch(after, /dev0|ctr0|peer0/, `the virtual device (and its peer) went with the container's namespace: ${after.trim()}`);
});

t.test(
  'a name taken in the container, or a device that does not exist, fails create naming the device',
  { skip: skip ?? false },
  async (t) => {
    const root = stateRoot(t);
    const taken = root.run(
      makeBundle(t, 'true', (s) => {
        s.linux!.netDevices = { dev0: { name: 'lo' } };
      }),
      undefined,
      [],
      { wrapper: inOwnNetns() },
    );
    t.not(taken.code, 0);
    t.match(
      errorLines(taken).join('\n'),
      /^linux\.netDevices\["dev0"\]: move dev0 into the container as lo: the container already has a device of that name: EEXIST/,
    );
    t.match(taken.stdout, /dev0/, `the device stays where it was: ${taken.stdout}`);
    const missing = root.run(
      makeBundle(t, 'true', (s) => {
        s.linux!.netDevices = { nosuch0: {} };
      }),
      undefined,
      [],
      { wrapper: inOwnNetns() },
    );
    t.not(missing.code, 0);
    t.match(errorLines(missing).join('\n'), /^linux\.netDevices\["nosuch0"\]: network device nosuch0 in the runtime's namespace: ENODEV/);
    t.same(root.entries(), []);
  },
);

t.test('netDevices with a new user namespace is refused by name', async (t) => {
  const root = stateRoot(t);
  const r = root.run(
    makeBundle(t, 'true', (s) => {
      s.linux!.namespaces!.push({ type: 'user' });
      s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      s.linux!.netDevices = { dev0: {} };
    }),
  );
  t.not(r.code, 0);
  t.match(errorLines(r).join('\n'), /^linux\.netDevices: not supported with a new user namespace/);
});
