// containerd-shim-runt-v2: `start`, `delete`, or (no action word) the long-lived shim.
import { parseShimArgs } from './args.js';
import { runtVersion } from '../package-root.js';

export async function main(argv: string[], script: string): Promise<void> {
  let args;
  try {
    args = parseShimArgs(argv);
  } catch (e) {
    process.stderr.write(`containerd-shim-runt-v2: ${(e as Error).message}\n`);
    process.exit(2);
  }
  try {
    switch (args.action) {
      case 'version':
        process.stdout.write(`containerd-shim-runt-v2 (runt ${runtVersion()})\n`);
        return;
      case 'start': {
        const { startCommand } = await import('./start.js');
        process.stdout.write(await startCommand(args, script));
        return;
      }
      case 'delete': {
        const { deleteCommand } = await import('./cleanup.js');
        process.stdout.write(await deleteCommand(args));
        return;
      }
      default: {
        const { serve } = await import('./serve.js');
        await serve(args);
      }
    }
  } catch (e) {
    process.stderr.write(`containerd-shim-runt-v2 ${args.action}: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
