// Synchronous calls to systemd's D-Bus API for the cgroup driver. The CgroupManager interface is
// synchronous (create, apply, join and destroy run inside the lifecycle's locked sections), and
// dbus-next is asynchronous: each call is handed to a worker thread (dbus-worker.ts) and this
// thread sleeps in Atomics.wait until the worker answers or the deadline passes. The worker is
// started on the first call and kept (unref'd) for the rest of the process. node:worker_threads
// loads with it: every container command loads this module (the cgroup managers), and most never
// ask systemd.
import { join } from 'node:path';
import type { MessagePort, Worker } from 'node:worker_threads';
import { CgroupError } from '../../errors.js';
import { packageRoot } from '../../package-root.js';
import type { Reply } from './dbus-worker.js';
import type { UnitProperty } from './properties.js';

/** How long to wait for systemd (RUNT_SYSTEMD_TIMEOUT_MS overrides). */
const TIMEOUT_MS = Number(process.env.RUNT_SYSTEMD_TIMEOUT_MS) || 30_000;
const STARTUP_MS = 60_000;

export class SystemdError extends CgroupError {
  constructor(
    message: string,
    readonly dbusName?: string,
  ) {
    super(message);
  }
}

interface Channel {
  worker: Worker;
  port: MessagePort;
  flag: Int32Array;
}
let channel: Channel | undefined;
let seq = 0;

const threads = () => process.getBuiltinModule('node:worker_threads');

function open(): Channel {
  const { MessageChannel, Worker } = threads();
  const { port1, port2 } = new MessageChannel();
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(join(packageRoot(), 'dist/src/cgroups/systemd/dbus-worker.js'), {
    workerData: { port: port2, flag },
    transferList: [port2],
  });
  worker.unref();
  worker.on('error', () => {
    if (channel?.worker === worker) channel = undefined;
  });
  // Loading the worker's modules is not systemd's time: wait for it to say it is ready.
  if (Atomics.wait(flag, 0, 0, STARTUP_MS) === 'timed-out') {
    void worker.terminate();
    throw new SystemdError(`the D-Bus worker did not start within ${STARTUP_MS / 1000} s`);
  }
  return { worker, port: port1, flag };
}

function call(op: string, ...args: unknown[]): unknown {
  const c = (channel ??= open());
  const id = ++seq;
  Atomics.store(c.flag, 0, 0);
  c.port.postMessage({ id, op, args });
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const got = threads().receiveMessageOnPort(c.port);
    if (got) {
      const reply = got.message as Reply;
      if (reply.id !== id) continue; // the late answer to a call that timed out
      if (reply.error !== undefined) throw new SystemdError(reply.error, reply.errorName);
      return reply.value;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      void c.worker.terminate();
      channel = undefined;
      throw new SystemdError(`systemd did not answer within ${TIMEOUT_MS / 1000} s`);
    }
    Atomics.wait(c.flag, 0, 0, left);
    Atomics.store(c.flag, 0, 0);
  }
}

/** Why systemd could not be asked, in words: the bus socket missing or refused. */
function unreachable(e: SystemdError): string | undefined {
  if (e.dbusName === 'ENOENT' || e.dbusName === 'ECONNREFUSED' || e.dbusName === 'EACCES') {
    return `cannot reach systemd on the system bus (${process.env.DBUS_SYSTEM_BUS_ADDRESS ?? 'unix:path=/var/run/dbus/system_bus_socket'}: ${e.dbusName})`;
  }
  return undefined;
}

function wrap<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof SystemdError)) throw e;
    throw new SystemdError(unreachable(e) ?? `${what}: ${e.message}`, e.dbusName);
  }
}

export interface UnitState {
  load: string;
  active: string;
  fragment: string;
}

export const systemd = {
  /** Start a transient unit; resolves when its job is done. */
  startUnit(unit: string, props: UnitProperty[]): void {
    const result = wrap(`systemd: starting ${unit}`, () => call('start', unit, props)) as string;
    if (result !== 'done') throw new SystemdError(`systemd: starting ${unit}: the job ended "${result}"`);
  },
  setProperties(unit: string, props: UnitProperty[]): void {
    if (props.length) wrap(`systemd: setting properties of ${unit}`, () => call('setProperties', unit, props));
  },
  /** Stop the unit; false when systemd did not know it. */
  stopUnit(unit: string): boolean {
    return wrap(`systemd: stopping ${unit}`, () => call('stop', unit)) as boolean;
  },
  unitState(unit: string): UnitState {
    return wrap(`systemd: loading ${unit}`, () => call('state', unit)) as UnitState;
  },
};
