// The config.toml of a private containerd (bench and tests start their own): its root, state and
// sockets inside `dir`, the snapshotters this host cannot have turned off, and CRI off unless the
// caller gives the CRI plugin's own lines.

const UNUSED_SNAPSHOTTERS = ['btrfs', 'zfs', 'devmapper', 'aufs'].map((s) => `io.containerd.snapshotter.v1.${s}`);

export interface ContainerdConfig {
  dir: string;
  /** The gRPC socket; the ttrpc one is beside it (`.ttrpc`). */
  sock: string;
  /** Default: `dir`/state. */
  state?: string;
  /** Lines of the CRI plugin's section; without them the CRI plugin is disabled. */
  cri?: string[];
}

export function containerdConfig(o: ContainerdConfig): string {
  const disabled = [...(o.cri ? [] : ['io.containerd.grpc.v1.cri']), ...UNUSED_SNAPSHOTTERS];
  return [
    'version = 2',
    `root = "${o.dir}/root"`,
    `state = "${o.state ?? `${o.dir}/state`}"`,
    `disabled_plugins = [${disabled.map((p) => `"${p}"`).join(', ')}]`,
    `[grpc]\n  address = "${o.sock}"`,
    `[ttrpc]\n  address = "${o.sock}.ttrpc"`,
    `[debug]\n  address = "${o.dir}/debug.sock"`,
    ...(o.cri ?? []),
  ].join('\n');
}
