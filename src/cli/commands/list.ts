import type { CommandModule } from 'yargs';
import { out, type GlobalArgs } from '../global.js';
import { cliRuntime } from '../cli-runtime.js';
import { tableLines } from '../table.js';

export const listCommand: CommandModule<GlobalArgs, GlobalArgs & { format: string; quiet: boolean }> = {
  command: 'list',
  aliases: ['ps-all'],
  describe: 'list containers',
  builder: (y) =>
    y
      .option('format', { alias: 'f', choices: ['table', 'json'], default: 'table' })
      .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'ids only' }) as never,
  handler: (argv) => {
    const all = cliRuntime(argv).list();
    if (argv.quiet) {
      for (const c of all) out(c.id);
      return;
    }
    if (argv.format === 'json') {
      out(
        JSON.stringify(
          all.map((c) => ({
            ociVersion: c.ociVersion,
            id: c.id,
            pid: c.pid ?? 0,
            status: c.status,
            bundle: c.bundle,
            rootfs: c.rootfs,
            created: c.created,
            owner: 'root',
            ...(c.annotations ? { annotations: c.annotations } : {}),
          })),
        ),
      );
      return;
    }
    const rows = [
      ['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'],
      ...all.map((c) => [c.id, String(c.pid ?? 0), c.status, c.bundle, c.created, 'root']),
    ];
    for (const line of tableLines(rows)) out(line);
  },
};
