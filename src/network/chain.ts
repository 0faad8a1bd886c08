// A network's plugin chain, as the CNI specification runs a configuration list: ADD through the
// plugins in order, each given the previous one's result as prevResult; DEL in reverse order, each
// given the cached ADD result. A failed ADD is undone (DEL of the whole list) before the error is
// returned. Calls for one network are serialised with a lock file: the plugins (host-local's
// allocations, the bridge, iptables chains) are not safe to run at once on one network.
import { closeSync, openSync } from 'node:fs';
import { native } from '../native.js';
import type { Conflist, PluginConf } from './conflist.js';
import { CniError, execPlugin, type PluginCall } from './plugin.js';

export interface RuntimeConfig {
  portMappings?: Array<{ hostPort: number; containerPort: number; protocol: string; hostIP?: string }>;
  ips?: string[];
}

export interface ChainCall {
  containerId: string;
  netns: string;
  ifname: string;
  cniPath: string[];
  timeoutMs: number;
  runtimeConfig: RuntimeConfig;
  /** The lock file of this network. */
  lockFile: string;
  /** Reports each plugin call with its duration (for --trace). */
  onCall?: (e: { command: string; plugin: string; usec: number; error?: string }) => void;
  /** Each plugin's ADD result as it comes (the caller caches it: DEL after a crash needs the
   *  addresses the chain had reached). */
  onResult?: (result: Record<string, unknown>) => void;
}

/** The configuration one plugin receives on stdin. */
export function pluginConfig(list: Conflist, plugin: PluginConf, rc: RuntimeConfig, prevResult?: unknown): Record<string, unknown> {
  const conf: Record<string, unknown> = { ...plugin, cniVersion: list.cniVersion, name: list.name };
  delete conf.capabilities;
  // Only what a plugin declares among its capabilities reaches it (as libcni does).
  const caps = plugin.capabilities ?? {};
  const runtimeConfig: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rc)) if (caps[k] && v !== undefined && (!Array.isArray(v) || v.length)) runtimeConfig[k] = v;
  if (Object.keys(runtimeConfig).length) conf.runtimeConfig = runtimeConfig;
  if (prevResult !== undefined) conf.prevResult = prevResult;
  return conf;
}

async function withLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const fd = openSync(file, 'a', 0o600);
  try {
    for (let delay = 1; !native().flock(fd, false); delay = Math.min(delay * 2, 32)) {
      await new Promise((r) => setTimeout(r, delay));
    }
    return await fn();
  } finally {
    closeSync(fd); // releases the flock
  }
}

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

async function callPlugin(
  list: Conflist,
  plugin: PluginConf,
  command: 'ADD' | 'DEL',
  c: ChainCall,
  prevResult: unknown,
): Promise<Record<string, unknown>> {
  const call: PluginCall = {
    command,
    containerId: c.containerId,
    netns: c.netns,
    ifname: c.ifname,
    cniPath: c.cniPath,
    timeoutMs: c.timeoutMs,
  };
  const t0 = nowUs();
  try {
    const r = await execPlugin(plugin.type, pluginConfig(list, plugin, c.runtimeConfig, prevResult), call);
    c.onCall?.({ command, plugin: plugin.type, usec: nowUs() - t0 });
    return r;
  } catch (e) {
    c.onCall?.({ command, plugin: plugin.type, usec: nowUs() - t0, error: (e as Error).message });
    throw e;
  }
}

/** ADD through the list; the final result. On failure every plugin is DEL'd (reverse order) and
 *  the error names the network and the plugin. */
export async function addChain(list: Conflist, c: ChainCall): Promise<Record<string, unknown>> {
  return withLock(c.lockFile, async () => {
    let prev: Record<string, unknown> | undefined;
    try {
      for (const plugin of list.plugins) {
        prev = await callPlugin(list, plugin, 'ADD', c, prev);
        c.onResult?.(prev);
      }
      return prev ?? {};
    } catch (e) {
      await delPlugins(list, c, prev);
      throw new CniError(`network "${list.name}": ${(e as Error).message}`);
    }
  });
}

/** DEL through the list in reverse; every plugin is called even when one fails. Returns the
 *  failures (empty: all released). */
export async function delChain(list: Conflist, c: ChainCall, cachedResult?: unknown): Promise<string[]> {
  return withLock(c.lockFile, () => delPlugins(list, c, cachedResult));
}

async function delPlugins(list: Conflist, c: ChainCall, cachedResult?: unknown): Promise<string[]> {
  const failures: string[] = [];
  for (const plugin of [...list.plugins].reverse()) {
    try {
      await callPlugin(list, plugin, 'DEL', c, cachedResult);
    } catch (e) {
      failures.push(`network "${list.name}": ${(e as Error).message}`);
    }
  }
  return failures;
}
