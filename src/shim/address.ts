// Where a shim listens, from what containerd gives (where runt keeps the containers' state:
// state-root.ts, apart). csrc/shim_front.cc computes the same addresses (fnv1a64 below) to hand a
// container to a running shim without Node; the shim's Claim checks them (claim.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Annotations that put containers into one shim: a Kubernetes pod, or a group named by hand (runt's
 *  label, or the one containerd's runc shim reads). */
export const GROUP_ANNOTATIONS = ['io.kubernetes.cri.sandbox-id', 'io.containerd.runt.v2.group', 'io.containerd.runc.v2.group'];

/** The shim of a group: one socket per containerd, namespace and group, under /run/containerd/s
 *  as containerd's own shims (runt's names begin with runt-). */
export function socketAddress(containerdAddress: string, namespace: string, group: string): string {
  return `unix:///run/containerd/s/runt-${fnv1a64(`${containerdAddress}\0${namespace}\0${group}`)}`;
}

/** RUNT_SHIM_SHARE (containerd's environment, which its shims inherit): unless it is "0", the
 *  containers of a namespace that name no group share one shim, which lingers for the idle period
 *  after its last task (serve.ts). "0": a shim per such container, gone with it. */
export function sharingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.RUNT_SHIM_SHARE !== '0';
}

/** FNV-1a, 64 bits, as 16 hex digits: the one hash csrc/shim_front.cc computes too. Not a
 *  boundary (a group is joined by naming it, as with containerd's runc shim): the shim checks the
 *  namespace and containerd a claim names and the container's group address. */
export function fnv1a64(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(text, 'utf8')) h = ((h ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h.toString(16).padStart(16, '0');
}

/** The shared shim of a containerd namespace's containers that name no group. */
export function sharedSocketAddress(containerdAddress: string, namespace: string): string {
  return `unix:///run/containerd/s/runt-${fnv1a64(`${containerdAddress}\0${namespace}`)}`;
}

/** The address of the shim that serves the container of `bundle`: its group's (a pod's, or named
 *  by hand), else the namespace's shared shim, else (RUNT_SHIM_SHARE=0) one of its own. */
export function shimAddressOf(bundle: string, containerdAddress: string, namespace: string, id: string): string {
  const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as { annotations?: Record<string, string> };
  const group = GROUP_ANNOTATIONS.map((a) => spec.annotations?.[a]).find(Boolean);
  if (group) return socketAddress(containerdAddress, namespace, group);
  return sharingEnabled() ? sharedSocketAddress(containerdAddress, namespace) : socketAddress(containerdAddress, namespace, id);
}

export function socketPath(address: string): string {
  return address.replace(/^unix:\/\//, '');
}
