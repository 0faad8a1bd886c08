// containerd-shim-runt-v2: `start`, `delete`, or (no action word) the long-lived shim. Each action
// loads only its own modules; answers go out with write(2) (process.stdout would build a stream).
import { writeSync } from 'node:fs';
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
        writeSync(1, `containerd-shim-runt-v2 (runt ${runtVersion()})\n`);
        return;
      case 'start': {
        const { startCommand, startInPlace } = await import('./start.js');
        if (args.startFd >= 0) await startInPlace(args);
        else writeSync(1, await startCommand(args, script));
        return;
      }
      case 'delete': {
        const { deleteCommand } = await import('./cleanup.js');
        writeSync(1, await deleteCommand(args));
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
