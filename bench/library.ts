// runt as a library, timed inside one long-lived Node process the way a daemon would use it:
// no Node start-up per operation, exit status from the init's pidfd.
import { Runtime } from '../src/index.js';
import { childrenCpuMs, smapsRollup } from './measure.js';

export interface LibraryRun {
  create: number;
  start: number;
  wait: number;
  delete: number;
  total: number;
}

const runtimes = new Map<string, Runtime>();

function runtime(root: string): Runtime {
  let rt = runtimes.get(root);
  if (!rt) {
    rt = new Runtime({ root });
    runtimes.set(root, rt);
  }
  return rt;
}

const now = () => Number(process.hrtime.bigint()) / 1e6;

/** Sequential create + start + wait + delete of one container, each phase timed. */
export async function libraryRun(root: string, bundle: string, id: string): Promise<LibraryRun> {
  const rt = runtime(root);
  const t0 = now();
  const c = await rt.create(id, bundle, { stdio: 'ignore' });
  const t1 = now();
  await c.start();
  const t2 = now();
  const st = await c.wait();
  const t3 = now();
  await c.delete();
  const t4 = now();
  if (st.code !== 0) throw new Error(`library run ${id}: exit ${st.code ?? st.signal}`);
  return { create: t1 - t0, start: t2 - t1, wait: t3 - t2, delete: t4 - t3, total: t4 - t0 };
}

/** create + start of a long-running container until start() has returned (its process runs), as
 *  a shim does for a Create and a Start; then a kill and delete, not timed. */
export async function libraryCreateStart(root: string, bundle: string, id: string): Promise<number> {
  const rt = runtime(root);
  const t0 = now();
  const c = await rt.create(id, bundle, { stdio: 'ignore' });
  await c.start();
  const ms = now() - t0;
  await c.delete({ force: true });
  return ms;
}

export async function libraryStartLongRunning(root: string, bundle: string, id: string): Promise<void> {
  const c = await runtime(root).create(id, bundle, { stdio: 'ignore' });
  await c.start();
}

/** exec of /bin/true into a running container, until its exit status is known. */
export async function libraryExec(root: string, id: string): Promise<number> {
  const t0 = now();
  const p = await runtime(root).exec(id, { args: ['/bin/true'], cwd: '/', user: { uid: 0, gid: 0 } }, { stdio: 'ignore' });
  const st = await p.wait();
  if (st.code !== 0) throw new Error(`library exec: exit ${st.code ?? st.signal}`);
  return now() - t0;
}

export async function libraryDelete(root: string, id: string): Promise<void> {
  await runtime(root).delete(id, { force: true });
}

/** `loops` concurrent loops of run() (create+start+wait+delete); containers per second. */
export async function libraryParallel(root: string, bundle: string, idPrefix: string, loops: number, perLoop: number): Promise<number> {
  const rt = runtime(root);
  const t0 = now();
  await Promise.all(
    Array.from({ length: loops }, async (_, l) => {
      for (let i = 0; i < perLoop; i++) {
        const st = await rt.run(`${idPrefix}-${l}-${i}`, bundle, { stdio: 'ignore' });
        if (st.code !== 0) throw new Error(`library run: exit ${st.code ?? st.signal}`);
      }
    }),
  );
  return (loops * perLoop) / ((now() - t0) / 1000);
}

/** Peak RSS of this process so far (KB). */
export function libraryPeakRssKb(): number {
  return process.resourceUsage().maxRSS;
}

/** RSS and PSS of the init of a container this process created, parked before start. */
export async function libraryParkedInitMemory(root: string, bundle: string, id: string): Promise<{ rssKb: number; pssKb: number }> {
  const rt = runtime(root);
  const c = await rt.create(id, bundle, { stdio: 'ignore' });
  try {
    return smapsRollup(c.pid);
  } finally {
    await c.delete({ force: true });
  }
}

/** Mean CPU time (ms) per run(): this process's (all threads) plus the reaped containers'. */
export async function libraryCpuPerRun(root: string, bundle: string, idPrefix: string, count: number): Promise<number> {
  const rt = runtime(root);
  const self0 = process.cpuUsage();
  const children0 = childrenCpuMs();
  for (let i = 0; i < count; i++) await rt.run(`${idPrefix}-${i}`, bundle, { stdio: 'ignore' });
  const self = process.cpuUsage(self0);
  return ((self.user + self.system) / 1000 + (childrenCpuMs() - children0)) / count;
}

/** rt.images.pull of `ref` into the store `store` (which the caller empties between pulls), as a
 *  daemon pulls: no Node start. */
export async function libraryPull(store: string, ref: string, unpack: boolean, caFile?: string): Promise<number> {
  // An extra CA (bench/images.ts --https) as the CLI gets it: runt reads this at its first HTTPS request.
  if (caFile) process.env.NODE_EXTRA_CA_CERTS = caFile;
  const rt = new Runtime({ store });
  const t0 = now();
  await rt.images.pull(ref, { unpack });
  return now() - t0;
}
