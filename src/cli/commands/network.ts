import type { CommandModule } from 'yargs';
import { out, type GlobalArgs } from '../global.js';
import { cliRuntime } from '../cli-runtime.js';
import { tableLines } from '../table.js';

type Args = GlobalArgs & {
  name?: string;
  names?: string[];
  id?: string;
  subnet?: string;
  gateway?: string;
  internal?: boolean;
  format?: string;
  quiet?: boolean;
  ip?: string;
  'cni-path'?: string;
};

const create: CommandModule<GlobalArgs, Args> = {
  command: 'create <name>',
  describe: 'create a CNI network (bridge + host-local, portmap, firewall, tuning)',
  builder: (y) =>
    y
      .positional('name', { type: 'string', demandOption: true })
      .option('subnet', { type: 'string', describe: 'IPv4 CIDR (default: the next free 10.89.N.0/24)' })
      .option('gateway', { type: 'string', describe: "the bridge's address (default: the first host address)" })
      .option('internal', { type: 'boolean', default: false, describe: 'no route out and no masquerading' }) as never,
  handler: (argv) => {
    out(cliRuntime(argv).networks.create(argv.name!, { subnet: argv.subnet, gateway: argv.gateway, internal: argv.internal }).name);
  },
};

const ls: CommandModule<GlobalArgs, Args> = {
  command: 'ls',
  aliases: ['list'],
  describe: 'list networks',
  builder: (y) =>
    y
      .option('format', { alias: 'f', choices: ['table', 'json'], default: 'table' })
      .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'names only' }) as never,
  handler: (argv) => {
    const all = cliRuntime(argv).networks.list();
    if (argv.format === 'json') return out(JSON.stringify(all.map(({ config: _c, ...rest }) => rest)));
    if (argv.quiet) return all.forEach((n) => out(n.name));
    const rows = [
      ['NAME', 'SUBNET', 'GATEWAY', 'BRIDGE', 'INTERNAL', 'CONTAINERS'],
      ...all.map((n) => [n.name, n.subnet, n.gateway, n.bridge, String(n.internal), n.containers.join(',') || '-']),
    ];
    for (const line of tableLines(rows)) out(line);
  },
};

const inspect: CommandModule<GlobalArgs, Args> = {
  command: 'inspect <names..>',
  describe: 'show networks (with their CNI configuration lists) as JSON',
  builder: (y) => y.positional('names', { type: 'string', array: true, demandOption: true }) as never,
  handler: (argv) => {
    const rt = cliRuntime(argv);
    out(
      JSON.stringify(
        argv.names!.map((n) => rt.networks.inspect(n)),
        null,
        2,
      ),
    );
  },
};

const rm: CommandModule<GlobalArgs, Args> = {
  command: 'rm <names..>',
  aliases: ['remove'],
  describe: 'remove networks (refused while a container is attached)',
  builder: (y) => y.positional('names', { type: 'string', array: true, demandOption: true }) as never,
  handler: (argv) => {
    const rt = cliRuntime(argv);
    for (const n of argv.names!) {
      rt.networks.remove(n);
      out(n);
    }
  },
};

const connect: CommandModule<GlobalArgs, Args> = {
  command: 'connect <name> <id>',
  describe: 'attach a created or running container to a network',
  builder: (y) =>
    y
      .positional('name', { type: 'string', demandOption: true })
      .positional('id', { type: 'string', demandOption: true })
      .option('ip', { type: 'string', describe: 'the address on this network' })
      .option('cni-path', { type: 'string', describe: 'directories holding the CNI plugins' }) as never,
  handler: async (argv) => {
    const addrs = await cliRuntime(argv).networks.connect(argv.id!, argv.name!, {
      ip: argv.ip,
      cniPath: argv['cni-path']?.split(':').filter(Boolean),
    });
    out(addrs.join(' '));
  },
};

const disconnect: CommandModule<GlobalArgs, Args> = {
  command: 'disconnect <name> <id>',
  describe: 'detach a container from a network',
  builder: (y) =>
    y.positional('name', { type: 'string', demandOption: true }).positional('id', { type: 'string', demandOption: true }) as never,
  handler: async (argv) => {
    await cliRuntime(argv).networks.disconnect(argv.id!, argv.name!);
  },
};

export const networkCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'network <command>',
  describe: 'manage CNI networks (create, ls, inspect, rm, connect, disconnect)',
  builder: (y) =>
    y
      .command(create as never)
      .command(ls as never)
      .command(inspect as never)
      .command(rm as never)
      .command(connect as never)
      .command(disconnect as never)
      .demandCommand(1) as never,
  handler: () => {},
};
