// /dev inside the container: the default nodes, linux.devices, the standard links.
import t from 'tap';
import { describe, makeBundle, stateRoot } from './helpers/index.js';

const DEFAULT_NODES: Array<[string, number, number]> = [
  ['null', 1, 3],
  ['zero', 1, 5],
  ['full', 1, 7],
  ['random', 1, 8],
  ['urandom', 1, 9],
  ['tty', 5, 0],
];
const STAT_NODES = `for d in ${DEFAULT_NODES.map(([n]) => n).join(' ')}; do stat -c "$d %F %t %T %a" /dev/$d; done`;

/** "name type major minor mode" lines (stat prints major/minor in hex). */
function parseNodes(stdout: string) {
  return Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .map((line) => {
        const m = /^(\S+) (.+) ([0-9a-f]+) ([0-9a-f]+) (\d+)$/.exec(line);
        return m ? [m[1], { type: m[2], major: parseInt(m[3], 16), minor: parseInt(m[4], 16), mode: m[5] }] : [line, undefined];
      }),
  );
}

t.test('the default device nodes exist with the right numbers', async (t) => {
  const root = stateRoot(t);
  const r = root.run(makeBundle(t, `${STAT_NODES}; head -c 4 /dev/zero | wc -c; echo x > /dev/null && echo null-ok`));
  t.equal(r.code, 0, describe(r));
  const nodes = parseNodes(r.stdout.split('\n').slice(0, DEFAULT_NODES.length).join('\n'));
  for (const [name, major, minor] of DEFAULT_NODES) {
    t.same(nodes[name], { type: 'character special file', major, minor, mode: '666' }, `/dev/${name} is c ${major} ${minor}, mode 666`);
  }
  t.same(r.stdout.trim().split('\n').slice(DEFAULT_NODES.length), ['4', 'null-ok'], 'the nodes work');
});

t.test('linux.devices adds nodes with their mode and owner', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'stat -c "%F %t %T %a %u %g" /dev/fuse /dev/sub/loopy', (s) => {
    s.linux!.devices = [
      { path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o640, uid: 1000, gid: 1001 },
      { path: '/dev/sub/loopy', type: 'b', major: 7, minor: 200, fileMode: 0o600, uid: 0, gid: 6 },
    ];
  });
  const r = root.run(b);
  t.equal(r.code, 0, describe(r));
  t.same(r.stdout.trim().split('\n'), ['character special file a e5 640 1000 1001', 'block special file 7 c8 600 0 6']);
});

t.test('the standard /dev links', async (t) => {
  const root = stateRoot(t);
  const r = root.run(
    makeBundle(t, 'for l in ptmx fd stdin stdout stderr; do echo "$l $(readlink /dev/$l)"; done; test -c /dev/pts/ptmx && echo pts-ptmx'),
  );
  t.equal(r.code, 0, describe(r));
  t.same(r.stdout.trim().split('\n'), [
    'ptmx pts/ptmx',
    'fd /proc/self/fd',
    'stdin /proc/self/fd/0',
    'stdout /proc/self/fd/1',
    'stderr /proc/self/fd/2',
    'pts-ptmx',
  ]);
});

t.test('in a user namespace the host nodes are bound instead', async (t) => {
  const root = stateRoot(t);
  const mapping = [{ containerID: 0, hostID: 100000, size: 65536 }];
  const b = makeBundle(t, `${STAT_NODES}; echo x > /dev/null && echo null-ok`, (s) => {
    s.linux!.namespaces!.push({ type: 'user' });
    s.linux!.uidMappings = mapping;
    s.linux!.gidMappings = mapping;
  });
  const r = root.run(b);
  t.equal(r.code, 0, describe(r));
  const nodes = parseNodes(r.stdout.split('\n').slice(0, DEFAULT_NODES.length).join('\n'));
  for (const [name, major, minor] of DEFAULT_NODES) {
    t.same(nodes[name], { type: 'character special file', major, minor, mode: '666' }, `/dev/${name} is c ${major} ${minor}`);
  }
  t.match(r.stdout, /null-ok/, '/dev/null is writable');
});
