// The shim's command line as containerd writes it: Go-style flags (-namespace NS, -id ID, -address
// ADDR, -publish-binary BIN, -bundle DIR, -debug, also as -flag=value) and an action word: `start`,
// `delete`, or none (the long-lived shim itself).
export interface ShimArgs {
  namespace: string;
  id: string;
  address: string;
  publishBinary: string;
  bundle: string;
  /** The long-lived shim: the path of its listening socket (fd 3), removed when it exits. */
  socket: string;
  /** "DEV:INO" of the socket file as `start` bound it: the file the shim removes, and no other. */
  socketInode: string;
  /** `start` run by the native front (csrc/shim_front.cc): the fd to report on ("ok ADDRESS" or
   *  "error MESSAGE"); this process then becomes the shim. -1 otherwise. */
  startFd: number;
  debug: boolean;
  action: 'start' | 'delete' | 'serve' | 'version';
}

const VALUE_FLAGS: Record<string, keyof ShimArgs> = {
  namespace: 'namespace',
  id: 'id',
  address: 'address',
  'publish-binary': 'publishBinary',
  bundle: 'bundle',
  socket: 'socket',
  'socket-inode': 'socketInode',
  'start-fd': 'startFd',
};

export function parseShimArgs(argv: string[]): ShimArgs {
  const out: ShimArgs = {
    namespace: '',
    id: '',
    address: '',
    publishBinary: '',
    bundle: '',
    socket: '',
    socketInode: '',
    startFd: -1,
    debug: false,
    action: 'serve',
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('-')) {
      if (arg !== 'start' && arg !== 'delete') throw new Error(`unknown action "${arg}": expected start or delete`);
      out.action = arg;
      continue;
    }
    const [name, inline] = arg.replace(/^--?/, '').split(/=(.*)/s, 2);
    if (name === 'debug') out.debug = inline === undefined || inline === 'true';
    else if (name === 'v' || name === 'version') out.action = 'version';
    else if (name in VALUE_FLAGS) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new Error(`flag -${name} needs a value`);
      if (name === 'start-fd') {
        if (!/^\d{1,6}$/.test(value)) throw new Error(`flag -start-fd: "${value}" is not an fd`);
        out.startFd = Number(value);
      } else {
        (out as unknown as Record<string, string>)[VALUE_FLAGS[name]] = value;
      }
    } else {
      throw new Error(`unknown flag -${name}`);
    }
  }
  if (out.action !== 'version' && !out.namespace) throw new Error('-namespace is required');
  if (out.action !== 'version' && !out.id) throw new Error('-id is required');
  return out;
}
