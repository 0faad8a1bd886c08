// One CNI plugin call, as the CNI specification (1.0) says: the plugin binary found on CNI_PATH,
// the command and its arguments in the environment, the network configuration on stdin, the
// result (or an error object) on stdout. A call that outlives its timeout is killed.
import { accessSync, constants as fsc } from 'node:fs';
import { join } from 'node:path';
import { RuntError } from '../errors.js';

export const DEFAULT_CNI_PATH = ['/usr/lib/cni', '/opt/cni/bin'];
export const DEFAULT_TIMEOUT_MS = 30_000;

export interface PluginCall {
  command: 'ADD' | 'DEL' | 'CHECK';
  containerId: string;
  /** CNI_NETNS; may be empty for DEL (the namespace is gone). */
  netns: string;
  ifname: string;
  cniPath: string[];
  timeoutMs: number;
}

export class CniError extends RuntError {
  constructor(message: string) {
    super('ECNI', message);
  }
}

/** The plugin's executable on the CNI path, or a CniError naming it. */
export function findPlugin(type: string, cniPath: string[]): string {
  if (!/^[\w.-]+$/.test(type)) throw new CniError(`CNI plugin "${type}": not a plugin name`);
  for (const dir of cniPath) {
    const p = join(dir, type);
    try {
      accessSync(p, fsc.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  throw new CniError(`CNI plugin "${type}" not found in ${cniPath.join(':')} (--cni-path)`);
}

/** Runs the plugin; resolves with its parsed stdout (the result; {} when it printed nothing). */
export function execPlugin(type: string, conf: object, call: PluginCall): Promise<Record<string, unknown>> {
  const path = findPlugin(type, call.cniPath);
  return new Promise((resolvePromise, reject) => {
    // node:child_process loads here, not with the module: `explain` and every command yargs runs load this one.
    const child = process.getBuiltinModule('node:child_process').spawn(path, [], {
      env: {
        CNI_COMMAND: call.command,
        CNI_CONTAINERID: call.containerId,
        CNI_NETNS: call.netns,
        CNI_IFNAME: call.ifname,
        CNI_PATH: call.cniPath.join(':'),
        PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, call.timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {}); // a plugin that exits without reading
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new CniError(`CNI plugin "${type}" (${call.command}): ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8').trim();
      if (timedOut) {
        reject(new CniError(`CNI plugin "${type}" (${call.command}) did not answer within ${call.timeoutMs} ms: killed`));
        return;
      }
      let parsed: Record<string, unknown> = {};
      try {
        if (stdout) parsed = JSON.parse(stdout) as Record<string, unknown>;
      } catch {
        if (code === 0) {
          reject(new CniError(`CNI plugin "${type}" (${call.command}) printed something that is not JSON`));
          return;
        }
      }
      if (code !== 0) {
        const msg =
          typeof parsed.msg === 'string' ? parsed.msg : Buffer.concat(err).toString('utf8').trim().split('\n')[0] || stdout.split('\n')[0];
        const details = typeof parsed.details === 'string' && parsed.details ? `: ${parsed.details}` : '';
        const how = signal ? `killed by ${signal}` : `exit ${code}`;
        reject(new CniError(`CNI plugin "${type}" (${call.command}) failed (${how})${msg ? `: ${msg}` : ''}${details}`));
        return;
      }
      resolvePromise(parsed);
    });
    child.stdin.end(JSON.stringify(conf));
  });
}
