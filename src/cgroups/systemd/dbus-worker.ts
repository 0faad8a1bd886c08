// The D-Bus side of the systemd driver, run in a worker thread (dbus.ts): it talks to systemd's
// manager on the system bus through dbus-next and answers each request on its port, then wakes the
// waiting thread through the shared flag. One connection per worker, subscribed to JobRemoved so a
// start or stop returns only when systemd has finished the job.
import { workerData, type MessagePort } from 'node:worker_threads';
import dbus from 'dbus-next';

const { Message, Variant } = dbus;
const SYSTEMD = 'org.freedesktop.systemd1';
const OBJECT = '/org/freedesktop/systemd1';
const MANAGER = 'org.freedesktop.systemd1.Manager';

export interface Request {
  id: number;
  op: string;
  args: unknown[];
}
export interface Reply {
  id: number;
  value?: unknown;
  error?: string;
  errorName?: string;
}
type Property = [string, string, unknown];

const { port, flag } = workerData as { port: MessagePort; flag: Int32Array };

let bus: dbus.MessageBus | undefined;
let broken: Promise<never> | undefined;
/** JobRemoved results that came before anyone waited for them, and those waiting. */
const finished = new Map<string, string>();
const waiting = new Map<string, (result: string) => void>();

async function call(
  member: string,
  signature = '',
  body: unknown[] = [],
  iface = MANAGER,
  path = OBJECT,
  destination = SYSTEMD,
): Promise<unknown[]> {
  const b = await connect();
  const reply = await Promise.race([b.call(new Message({ destination, path, interface: iface, member, signature, body })), broken!]);
  return (reply?.body ?? []) as unknown[];
}

async function connect(): Promise<dbus.MessageBus> {
  if (bus) return bus;
  const b = dbus.systemBus();
  broken = new Promise<never>((_, reject) => b.on('error', (e: Error) => reject(e)));
  broken.catch(() => undefined);
  b.on('message', (msg: dbus.Message) => {
    if (msg.type !== dbus.MessageType.SIGNAL || msg.interface !== MANAGER || msg.member !== 'JobRemoved') return;
    const [, job, , result] = msg.body as [number, string, string, string];
    const w = waiting.get(job);
    if (w) {
      waiting.delete(job);
      w(result);
    } else finished.set(job, result);
  });
  bus = b;
  await call(
    'AddMatch',
    's',
    [`type='signal',sender='${SYSTEMD}',interface='${MANAGER}',member='JobRemoved'`],
    'org.freedesktop.DBus',
    '/org/freedesktop/DBus',
    'org.freedesktop.DBus',
  );
  await call('Subscribe');
  return b;
}

function jobDone(job: string): Promise<string> {
  const result = finished.get(job);
  if (result !== undefined) {
    finished.delete(job);
    return Promise.resolve(result);
  }
  return new Promise((resolve) => waiting.set(job, resolve));
}

const variants = (props: Property[]) => props.map(([name, sig, value]) => [name, new Variant(sig, value)]);

const ops: Record<string, (...args: never[]) => Promise<unknown>> = {
  /** StartTransientUnit, then wait for its job: "done", or the job's result ("failed", ...). */
  async start(unit: string, props: Property[]) {
    const [job] = await call('StartTransientUnit', 'ssa(sv)a(sa(sv))', [unit, 'replace', variants(props), []]);
    return jobDone(job as string);
  },
  async setProperties(unit: string, props: Property[]) {
    await call('SetUnitProperties', 'sba(sv)', [unit, true, variants(props)]);
    return true;
  },
  /** StopUnit and wait; false when systemd has no such unit loaded. */
  async stop(unit: string) {
    try {
      const [job] = await call('StopUnit', 'ss', [unit, 'replace']);
      await jobDone(job as string);
    } catch (e) {
      if ((e as { type?: string }).type === `${SYSTEMD}.NoSuchUnit`) return false;
      throw e;
    }
    try {
      await call('ResetFailedUnit', 's', [unit]);
    } catch {
      // not failed, or already collected
    }
    return true;
  },
  /** The unit's LoadState ("loaded", "not-found", ...), ActiveState and unit file (FragmentPath). */
  async state(unit: string) {
    const [path] = await call('LoadUnit', 's', [unit]);
    const get = async (prop: string) => {
      const [v] = await call('Get', 'ss', ['org.freedesktop.systemd1.Unit', prop], 'org.freedesktop.DBus.Properties', path as string);
      return (v as dbus.Variant).value as string;
    };
    return { load: await get('LoadState'), active: await get('ActiveState'), fragment: await get('FragmentPath') };
  },
};

port.on('message', async (req: Request) => {
  let reply: Reply;
  try {
    const op = ops[req.op];
    if (!op) throw new Error(`unknown operation ${req.op}`);
    reply = { id: req.id, value: await op(...(req.args as never[])) };
  } catch (e) {
    const err = e as Error & { type?: string; text?: string; code?: string };
    reply = { id: req.id, error: err.text ?? err.message ?? String(e), errorName: err.type ?? err.code };
  }
  port.postMessage(reply);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
});

// Ready: the thread that started this worker waits for this before its first request.
Atomics.store(flag, 0, 1);
Atomics.notify(flag, 0);
