// Networks through the real CNI plugins (Debian's containernetworking-plugins: bridge, host-local,
// portmap, firewall, tuning). Everything runs in a network + mount namespace this file makes
// (helpers/netns.ts): runt, the plugins, ip, iptables and every packet stay there, and nothing
// touches the host's interfaces, routes or firewall. Each container is deleted inside it too.
import t, { type Test } from 'tap';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  describe,
  errorLines,
  makeBundle,
  makeNetNs,
  netnsMissing,
  runt,
  runtAsync,
  uniqueId,
  waitFor,
  type RuntOptions,
  type RuntResult,
} from './helpers/index.js';
import { onTeardownContainers } from './helpers/cleanup.js';

const PLUGINS = ['bridge', 'host-local', 'portmap', 'firewall', 'tuning'];
const missing = netnsMissing() ?? PLUGINS.find((p) => !existsSync(`/usr/lib/cni/${p}`));
if (missing) {
  t.plan(0, `skip: ${missing.includes(' ') ? missing : `CNI plugin ${missing} is not installed (containernetworking-plugins)`}`);
  process.exit(0);
}

const ns = await makeNetNs(t);
const ROOT = mkdtempSync('/tmp/runt-test-netroot-');
const STORE = mkdtempSync('/tmp/runt-test-netstore-');
// The namespace's host side asks with Node's http client (no host tool needed).
const GET =
  "require('http').get(process.argv[1], { timeout: 3000 }, (r) => { let d = ''; r.on('data', (c) => { d += c; }); r.on('end', () => process.stdout.write(d)); }).on('error', (e) => { console.error(e.message); process.exit(1); })";
const httpGet = (url: string) => ns.run([process.execPath, '-e', GET, url]).stdout;
const ids = new Set<string>();

const rt = (args: string[], opts: RuntOptions & { env?: string[] } = {}): RuntResult =>
  runt(['--store', STORE, ...args], { root: ROOT, ...opts, wrapper: [...ns.wrap, ...(opts.env ? ['env', ...opts.env] : [])] });

// Delete what is left inside the namespace (DEL must run there), then check nothing remains.
onTeardownContainers(t, () => {
  const problems: string[] = [];
  for (const id of readdirSync(ROOT)) {
    const r = rt(['delete', '--force', id]);
    if (r.code !== 0) problems.push(`delete --force ${id}: ${r.stderr}`);
  }
  rmSync(ROOT, { recursive: true, force: true });
  rmSync(STORE, { recursive: true, force: true });
  return problems;
});

const id = (prefix: string) => {
  const v = uniqueId(prefix);
  ids.add(v);
  return v;
};
const out = (dir: string, name: string) => ({ stdoutFile: join(dir, `${name}.out`), stderrFile: join(dir, `${name}.err`) });
const leases = (net: string) => {
  try {
    return readdirSync(join(STORE, 'networks/ipam', net)).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
  } catch {
    return [];
  }
};
const veths = () => ns.run(['ip', '-o', 'link', 'show', 'type', 'veth']).stdout.trim().split('\n').filter(Boolean);
const rulesOf = (cid: string) =>
  ns
    .run(['iptables-save'])
    .stdout.split('\n')
    .filter((l) => l.includes(`id: "${cid}"`) || l.includes(`id: \\"${cid}\\"`));
const addressOf = (cid: string): string => {
  const st = JSON.parse(rt(['state', cid]).stdout) as { networks?: Array<{ addresses: string[] }> };
  return st.networks![0].addresses[0].split('/')[0];
};

/** What a failed or deleted container may not leave: state, leases on `net`, veths, rules. */
async function nothingLeft(t: Test, cid: string, net: string, leasesBefore: string[] = []): Promise<void> {
  t.notOk(existsSync(join(ROOT, cid)), `${cid}: no state`);
  t.same(leases(net), leasesBefore, `${cid}: no address lease left on ${net}`);
  await waitFor('the veth to go', () => veths().length === 0, 10_000).catch(() => {});
  t.same(veths(), [], `${cid}: no veth left`);
  t.same(rulesOf(cid), [], `${cid}: no iptables rule left`);
  t.notMatch(readFileSync(`/proc/${ns.pid}/mountinfo`, 'utf8'), new RegExp(`${ROOT}/${cid}`), `${cid}: no mount left (the pinned netns)`);
}

t.test('two containers on one network, a published port, connect/disconnect; delete releases the IP and the veth', async (t) => {
  t.equal(rt(['network', 'create', 'neta', '--subnet', '10.89.50.0/24']).code, 0);
  const web = makeBundle(t, 'echo hello-from-web > /www/index.html; exec httpd -f -p 80 -h /www');
  const webId = id('web');
  const c = rt(['run', '-d', '-b', web.dir, '--network', 'neta', '-p', '18080:80', '--tmpfs', '/www', webId], out(web.dir, 'web'));
  t.equal(c.code, 0, describe(c));
  const ip = addressOf(webId);
  t.match(ip, /^10\.89\.50\.\d+$/, 'runt state shows the address');
  t.same(leases('neta'), [ip], 'host-local leased it');
  const hosts = readFileSync(join(ROOT, webId, 'etc-hosts'), 'utf8');
  t.match(hosts, new RegExp(`^${ip.replace(/\./g, '\\.')}\\s`, 'm'), '/etc/hosts names the address');

  // Wait for httpd, asking from the namespace's host side.
  await waitFor('httpd in the container', () => httpGet(`http://${ip}/`).includes('hello'), 15_000);

  const client = makeBundle(t, `ip route; cat /etc/hostname; wget -q -O - http://${ip}/`);
  const clientId = id('client');
  const cl = rt(['run', '--trace', '-b', client.dir, '--network', 'neta', clientId], out(client.dir, 'client'));
  t.equal(cl.code, 0, describe(cl));
  for (const plugin of ['bridge', 'portmap', 'firewall', 'tuning']) {
    t.match(cl.stderr, new RegExp(`trace: #\\d+\\s+cni ADD\\s+network neta: ${plugin}\\s+ok \\d+us`), `--trace times ${plugin}`);
  }
  // It exited before runt deleted it: its pinned namespace let DEL undo everything all the same.
  t.same(rulesOf(clientId), [], 'no rule left by the client (its masquerade chain is gone)');
  t.same(leases('neta'), [ip], 'only the web container holds a lease');
  t.match(cl.stdout, /hello-from-web/, 'the second container reached the first by IP');
  t.match(cl.stdout, /^default via 10\.89\.50\.1/m, 'a default route through the bridge');

  t.match(httpGet('http://10.89.50.1:18080/'), /hello-from-web/, 'the published port answers on the bridge side');

  // A port already published: refused, nothing left of the second container.
  const dupId = id('dup');
  const before = leases('neta');
  const dup = rt(['run', '-b', client.dir, '--network', 'neta', '-p', '18080:80', dupId], out(client.dir, 'dup'));
  t.not(dup.code, 0);
  t.equal(errorLines(dup).length, 1, dup.stderr);
  t.match(dup.stderr, new RegExp(`port 18080/tcp is already published by container "${webId}"`));
  t.notOk(existsSync(join(ROOT, dupId)));
  t.same(leases('neta'), before);

  // connect / disconnect while it runs.
  t.equal(rt(['network', 'create', 'netb', '--subnet', '10.89.51.0/24']).code, 0);
  const con = rt(['network', 'connect', 'netb', webId]);
  t.equal(con.code, 0, describe(con));
  t.match(con.stdout, /^10\.89\.51\.\d+\/24/);
  const inside = rt(['exec', webId, 'ip', '-o', '-4', 'addr', 'show', 'eth1']);
  t.match(inside.stdout, /inet 10\.89\.51\./, 'eth1 inside the container');
  t.match(readFileSync(join(ROOT, webId, 'etc-hosts'), 'utf8'), /10\.89\.51\./, '/etc/hosts rewritten');
  const rmBusy = rt(['network', 'rm', 'netb']);
  t.not(rmBusy.code, 0);
  t.match(rmBusy.stderr, /network "netb" is in use by container/);
  t.equal(rt(['network', 'disconnect', 'netb', webId]).code, 0);
  t.not(rt(['exec', webId, 'ip', 'link', 'show', 'eth1']).code, 0, 'eth1 gone');
  t.same(leases('netb'), [], 'its lease released');
  t.equal(rt(['network', 'rm', 'netb']).code, 0);

  t.equal(veths().length, 1, 'one veth while the web container runs');
  const del = rt(['delete', '--force', webId]);
  t.equal(del.code, 0, describe(del));
  await nothingLeft(t, webId, 'neta');
});

t.test('--internal: no route out; the default network appears on first use', async (t) => {
  t.equal(rt(['network', 'create', 'inner', '--internal']).code, 0);
  const b = makeBundle(t, 'ip route; wget -q -O - http://10.89.50.1:18080/ 2>&1; echo "rc=$?"');
  const r = rt(['run', '-b', b.dir, '--network', 'inner', id('internal')], out(b.dir, 'internal'));
  t.equal(r.code, 0, describe(r));
  t.notMatch(r.stdout, /default/, 'no default route');
  t.match(r.stdout, /unreachable/i, `an address off the network is unreachable: ${r.stdout}`);
  t.match(r.stdout, /rc=1/);
  const inspect = JSON.parse(rt(['network', 'inspect', 'inner']).stdout) as Array<{
    internal: boolean;
    config: { cniVersion: string; plugins: Array<{ type: string }> };
  }>;
  t.equal(inspect[0].internal, true);
  t.equal(inspect[0].config.cniVersion, '1.0.0');
  t.same(
    inspect[0].config.plugins.map((p) => p.type),
    ['bridge', 'portmap', 'firewall', 'tuning'],
  );

  t.notMatch(rt(['network', 'ls', '-q']).stdout, /^runt$/m);
  const d = rt(['run', '-b', b.dir, '-p', '18081:80', id('default')], out(b.dir, 'default'));
  t.equal(d.code, 0, describe(d));
  t.match(d.stdout, /default via 10\.89\.0\.1/, 'ports alone: the default network runt (10.89.0.0/24)');
  t.match(rt(['network', 'ls', '-q']).stdout, /^runt$/m);
  t.same(leases('runt'), []);
  t.same(leases('inner'), []);
});

/** A CNI path with the real plugins and a `tuning` of our own: fails, hangs, or is missing. */
function fakeCniPath(t: Test, tuning: 'fail' | 'hang' | 'missing'): { dir: string; pidFile: string } {
  const dir = mkdtempSync('/tmp/runt-test-cni-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const p of ['bridge', 'host-local', 'portmap', 'firewall']) symlinkSync(`/usr/lib/cni/${p}`, join(dir, p));
  const pidFile = join(dir, 'tuning.pid');
  const add =
    tuning === 'fail'
      ? 'echo \'{"cniVersion":"1.0.0","code":100,"msg":"tuning says no"}\'; exit 1'
      : `echo $$ > ${pidFile}; exec sleep 600`;
  if (tuning !== 'missing') {
    writeFileSync(join(dir, 'tuning'), `#!/bin/sh\ncat > /dev/null\nif [ "$CNI_COMMAND" = ADD ]; then ${add}; fi\nexit 0\n`);
    chmodSync(join(dir, 'tuning'), 0o755);
  }
  return { dir, pidFile };
}

t.test('bad input: one line naming the network, port or plugin; nothing left', async (t) => {
  t.equal(rt(['network', 'create', 'netc', '--subnet', '10.89.60.0/24']).code, 0);
  const b = makeBundle(t, 'true');
  const cases: Array<[string, string[], RegExp, string[]?]> = [
    ['unknown network', ['--network', 'nosuch'], /network "nosuch" does not exist/],
    ['bad port', ['--network', 'netc', '-p', '99999:80'], /-p 99999:80: port "99999"/],
    ['missing plugin', ['--network', 'netc', '--cni-path', fakeCniPath(t, 'missing').dir], /network "netc": CNI plugin "tuning" not found/],
    [
      'failing plugin',
      ['--network', 'netc', '--cni-path', fakeCniPath(t, 'fail').dir],
      /network "netc": CNI plugin "tuning" \(ADD\) failed \(exit 1\): tuning says no/,
    ],
    [
      'hanging plugin',
      ['--network', 'netc', '--cni-path', fakeCniPath(t, 'hang').dir],
      /network "netc": CNI plugin "tuning" \(ADD\) did not answer within 1500 ms/,
      ['RUNT_CNI_TIMEOUT_MS=1500'],
    ],
  ];
  for (const [what, args, pattern, env] of cases) {
    const cid = id('bad');
    const r = rt(['run', '-b', b.dir, ...args, cid], { ...out(b.dir, cid), env });
    t.not(r.code, 0, what);
    t.equal(errorLines(r).length, 1, `${what}: one line: ${r.stderr}`);
    t.match(r.stderr, pattern, what);
    await nothingLeft(t, cid, 'netc');
  }
  const outside = rt(['run', '-b', b.dir, '--network', 'netc', '--ip', '10.89.61.5', id('bad')], out(b.dir, 'outside'));
  t.not(outside.code, 0);
  t.match(outside.stderr, /--ip 10\.89\.61\.5: not in network "netc" \(10\.89\.60\.0\/24\)/);
  const overlap = rt(['network', 'create', 'netd', '--subnet', '10.89.60.128/25']);
  t.not(overlap.code, 0);
  t.equal(errorLines(overlap).length, 1);
  t.match(overlap.stderr, /--subnet 10\.89\.60\.128\/25 overlaps network "netc" \(10\.89\.60\.0\/24\)/);
  t.notOk(existsSync(join(STORE, 'networks/netd.conflist')));
});

t.test('kill -9 of runt between ADD and start: delete --force cleans everything', async (t) => {
  t.equal(rt(['network', 'create', 'nete', '--subnet', '10.89.70.0/24']).code, 0);
  const cni = fakeCniPath(t, 'hang');
  const b = makeBundle(t, 'true');
  const cid = id('killed');
  const p = runtAsync(['--store', STORE, 'create', '-b', b.dir, '--network', 'nete', '-p', '18090:80', '--cni-path', cni.dir, cid], {
    root: ROOT,
    wrapper: ns.wrap,
    ...out(b.dir, cid),
  });
  // bridge, portmap and firewall have run ADD once the hanging tuning plugin wrote its pid.
  const pluginPid = Number(
    await waitFor(
      'the tuning plugin',
      () => {
        try {
          return readFileSync(cni.pidFile, 'utf8').trim();
        } catch {
          return undefined;
        }
      },
      20_000,
    ),
  );
  t.equal(leases('nete').length, 1, 'an address was leased');
  t.ok(ns.run(['iptables-save']).stdout.includes('10.89.70.'), 'rules for it exist');
  // nsenter execs runt (no fork without a PID namespace): kill runt, then our hanging plugin, by pid.
  process.kill(p.pid, 'SIGKILL');
  await p.done;
  try {
    process.kill(pluginPid, 'SIGKILL');
  } catch {
    /* gone */
  }
  t.ok(existsSync(join(ROOT, cid)), 'the state is left for delete');
  const del = rt(['delete', '--force', cid]);
  t.equal(del.code, 0, describe(del));
  await nothingLeft(t, cid, 'nete');
  t.notOk(ns.run(['iptables-save']).stdout.includes('10.89.70.'), 'no rule mentions its address');
  t.same(readdirSync(join(STORE, 'networks/ports')), [], 'its port is free again');
});

t.test('explain lists the CNI calls at their moment in the plan, and the files', async (t) => {
  t.equal(rt(['network', 'create', 'netx', '--subnet', '10.89.80.0/24']).code, 0);
  const b = makeBundle(t, 'true');
  const r = rt(['explain', '-b', b.dir, '--format', 'json', '--network', 'netx', '-p', '8080:80', '-v', 'data:/data']);
  t.equal(r.code, 0, describe(r));
  const doc = JSON.parse(r.stdout) as {
    steps: Array<{ index: number; op: string; field: string; runtime: string[] }>;
    runtime: Array<{ when: string; step: number | null; calls: string[] }>;
  };
  const sync = doc.steps.find((s) => s.op === 'sync' && s.field.startsWith('networks'));
  t.ok(sync, 'a sync step for the networks');
  const firstMount = doc.steps.findIndex((s) => s.op === 'mount');
  t.ok(sync!.index < firstMount, 'before any mount');
  const adds = doc.runtime.filter((a) => a.when === 'sync-network').flatMap((a) => a.calls);
  t.same(
    adds.filter((c) => / ADD: /.test(c)).map((c) => c.split(' ')[0]),
    ['bridge', 'portmap', 'firewall', 'tuning'],
    'ADD in order',
  );
  t.match(adds.join('\n'), /portmap ADD: .*"runtimeConfig":\{"portMappings":\[\{"hostPort":8080,"containerPort":80,"protocol":"tcp"\}\]/);
  const dels = doc.runtime
    .filter((a) => a.when === 'delete')
    .flatMap((a) => a.calls)
    .filter((c) => / DEL: /.test(c));
  t.same(
    dels.map((c) => c.split(' ')[0]),
    ['tuning', 'firewall', 'portmap', 'bridge'],
    'DEL in reverse',
  );
  t.ok(
    doc.steps.some((s) => s.field === 'networks (/etc/hosts)'),
    '/etc/hosts bind mount',
  );
  t.ok(
    doc.steps.some((s) => s.field === 'volumes[0] (data:/data)'),
    'the volume mount',
  );
  t.notOk(existsSync(join(ROOT, 'ID')), 'explain created nothing');
  t.notOk(existsSync(join(STORE, 'volumes/data')), 'no volume made');
});

t.test('--ip, and two networks at once (eth0, eth1)', async (t) => {
  t.equal(rt(['network', 'create', 'netf', '--subnet', '10.89.90.0/24']).code, 0);
  t.equal(rt(['network', 'create', 'netg', '--subnet', '10.89.91.0/24']).code, 0);
  const b = makeBundle(t, 'ip -o -4 addr show eth0; ip -o -4 addr show eth1; cat /etc/hosts');
  const cid = id('two');
  const r = rt(['run', '-b', b.dir, '--network', 'netf,netg', '--ip', '10.89.90.77', cid], out(b.dir, 'two'));
  t.equal(r.code, 0, describe(r));
  t.match(r.stdout, /eth0\s+inet 10\.89\.90\.77\/24/, '--ip on the first network');
  t.match(r.stdout, /eth1\s+inet 10\.89\.91\.\d+\/24/, 'the second network on eth1');
  t.match(r.stdout, /^10\.89\.90\.77\s/m, '/etc/hosts has both addresses');
  t.match(r.stdout, /^10\.89\.91\.\d+\s/m);
  await nothingLeft(t, cid, 'netf');
  t.same(leases('netg'), []);
});
