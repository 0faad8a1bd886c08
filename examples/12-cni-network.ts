// 12 — a container on a network, with the real CNI plugins: a veth pair, a bridge, an address from
// IPAM, NAT for a published port.
//
//   npm run build:ts && node dist/examples/12-cni-network.js
//
// The example first re-executes itself in a network and mount namespace of its own (unshare), so
// the bridge, the veths and the iptables rules it makes exist only there and go away with it: the
// host's interfaces, routes and firewall are never touched. In there it uses the library as a
// program would: rt.networks.create(), rt.create(id, spec, { networks, ports }), rt.delete().
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime, type Spec, type TraceEvent } from '../src/index.js';
import { heading, indent, needRootfs, REPO, ROOTFS, show } from './lib/show.js';

needRootfs();
if (process.env.RUNT_EXAMPLE_NETNS !== '1') {
  // The namespaces of this lesson: made here, gone when the re-executed copy exits.
  const r = spawnSync(
    'unshare',
    ['--net', '--mount', '--propagation', 'private', process.execPath, ...process.execArgv, process.argv[1], ...process.argv.slice(2)],
    {
      stdio: 'inherit',
      env: { ...process.env, RUNT_EXAMPLE_NETNS: '1' },
    },
  );
  process.exit(r.status ?? 1);
}

const sh = (cmd: string[]) => spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8' }).stdout.trim();
const get = (url: string) =>
  new Promise<string>((resolve) => {
    const req = request(url, { timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve(body.trim()));
    });
    req.on('error', (e) => resolve(`(${e.message})`));
    req.end();
  });

sh(['ip', 'link', 'set', 'lo', 'up']);
const root = mkdtempSync(join(tmpdir(), 'runt-example-12-'));
const store = mkdtempSync(join(tmpdir(), 'runt-example-12-store-'));
const rt = new Runtime({ root, store });
const id = `example-12-${process.pid}`;
try {
  heading('a network: a CNI configuration list in the store');
  const net = rt.networks.create('lesson', { subnet: '10.89.99.0/24' });
  show('subnet, gateway, bridge', `${net.subnet}, ${net.gateway}, ${net.bridge}`);
  show('plugins (in ADD order)', net.config.plugins.map((p) => p.type).join(' → '));
  show(
    'interfaces before',
    sh(['ip', '-o', 'link'])
      .split('\n')
      .map((l) => l.split(':')[1].trim())
      .join(', '),
  );

  heading('a container on it, port 8080 published to its port 80');
  const spec = JSON.parse(readFileSync(join(REPO, 'examples/busybox/config.json'), 'utf8')) as Spec;
  spec.root = { path: ROOTFS, readonly: true };
  spec.process!.args = [
    'sh',
    '-c',
    'echo "hello from $(hostname) at $(ip -o -4 addr show eth0 | cut -d" " -f7)" > /www/index.html; exec httpd -f -p 80 -h /www',
  ];
  const cni: TraceEvent[] = [];
  const c = await rt.create(id, spec, {
    networks: ['lesson'],
    ports: ['8080:80'],
    tmpfs: ['/www'],
    stdio: 'ignore',
    trace: true,
    onTrace: (e) => {
      if (e.op.startsWith('cni')) cni.push(e);
    },
  });
  await c.start();
  for (const e of cni)
    show(`${e.op} ${e.field.split(': ')[1]}`, `${(e.usec / 1000).toFixed(1)} ms (while the init waits at step #${e.index})`);
  const st = c.state();
  const addr = st.networks![0].addresses[0];
  show('its address (runt state)', `${addr} on ${st.networks![0].ifname}, mac ${st.networks![0].mac}`);
  show(
    'IPAM (host-local) leases',
    readdirSync(join(store, 'networks/ipam/lesson'))
      .filter((f) => /^\d/.test(f))
      .join(', '),
  );
  heading('the host side of the veth pair, plugged into the bridge');
  console.log(indent(sh(['ip', '-o', 'link', 'show', 'master', net.bridge])));
  console.log(indent(sh(['ip', '-o', '-4', 'addr', 'show', net.bridge])));
  heading('NAT: the published port (portmap) and masquerading (bridge ipMasq)');
  console.log(
    indent(
      sh(['iptables-save', '-t', 'nat'])
        .split('\n')
        .filter((l) => l.includes(id) || l.includes('DNAT'))
        .join('\n'),
    ),
  );

  heading('traffic');
  const ip = addr.split('/')[0];
  let body = '';
  for (let i = 0; i < 50 && !body.startsWith('hello'); i++) {
    body = await get(`http://${ip}/`);
    if (!body.startsWith('hello')) await new Promise((r) => setTimeout(r, 100));
  }
  show(`GET http://${ip}/`, body);
  show(`GET http://${net.gateway}:8080/ (published)`, await get(`http://${net.gateway}:8080/`));

  heading('delete: CNI DEL in reverse order');
  await rt.delete(id, { force: true });
  show(
    'leases left',
    readdirSync(join(store, 'networks/ipam/lesson'))
      .filter((f) => /^\d/.test(f))
      .join(', ') || '(none)',
  );
  show('veths on the bridge', sh(['ip', '-o', 'link', 'show', 'master', net.bridge]) || '(none)');
  show(
    'NAT rules naming the container',
    String(
      sh(['iptables-save', '-t', 'nat'])
        .split('\n')
        .filter((l) => l.includes(id)).length,
    ),
  );
} finally {
  await rt.delete(id, { force: true }).catch(() => {});
  rmSync(root, { recursive: true, force: true });
  rmSync(store, { recursive: true, force: true });
}
