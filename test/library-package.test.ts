// `import { Runtime } from 'runt'` from another project: the package's exports resolve from an ESM
// module in any directory, run a container, and give TypeScript the types. Uses the built dist/.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, makeBundle, removeAtTeardown, stateRoot } from './helpers/index.js';

function project(t: Test): string {
  const dir = mkdtempSync('/tmp/runt-libpkg-');
  removeAtTeardown(t, dir);
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(REPO, join(dir, 'node_modules', 'runt'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  return dir;
}

function env(): NodeJS.ProcessEnv {
  const e = { ...process.env };
  delete e.NODE_OPTIONS;
  delete e.NODE_EXTRA_CA_CERTS;
  return e;
}

t.test('the built package is there', async (t) => {
  t.ok(
    existsSync(join(REPO, 'dist/src/index.js')) && existsSync(join(REPO, 'dist/src/index.d.ts')),
    'dist/src/index.{js,d.ts} (npm run build)',
  );
});

t.test('an ESM module elsewhere imports runt and runs a container', async (t) => {
  const dir = project(t);
  const root = stateRoot(t);
  const b = makeBundle(t, 'exit 5');
  const id = root.id('pkg');
  writeFileSync(
    join(dir, 'main.mjs'),
    `
import { Runtime, RuntError } from 'runt';
const rt = new Runtime({ root: ${JSON.stringify(root.path)} });
const c = await rt.create(${JSON.stringify(id)}, ${JSON.stringify(b.dir)}, { stdio: 'ignore' });
await c.start();
const st = await c.wait();
await c.delete();
let code;
try { rt.state(${JSON.stringify(id)}); } catch (e) { code = e instanceof RuntError && e.code; }
console.log(JSON.stringify({ st, code }));
`,
  );
  const r = spawnSync(process.execPath, ['main.mjs'], { cwd: dir, env: env(), encoding: 'utf8', timeout: 30_000 });
  t.equal(r.status, 0, r.stderr);
  t.same(JSON.parse(r.stdout), { st: { code: 5, signal: null }, code: 'ENOTFOUND_CONTAINER' });
});

t.test('TypeScript resolves the types of runt', async (t) => {
  const dir = project(t);
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        strict: true,
        noEmit: true,
        types: ['node'],
        typeRoots: [join(REPO, 'node_modules/@types')],
      },
      files: ['check.ts'],
    }),
  );
  writeFileSync(
    join(dir, 'check.ts'),
    `
import { Runtime, RuntError, type WaitResult, type Spec, type RuntEvent } from 'runt';
const rt = new Runtime({ root: '/run/runt' });
export async function f(spec: Spec): Promise<WaitResult> {
  const c = await rt.create('web1', spec, { stdio: ['ignore', 'pipe', 'pipe'] });
  c.stdout?.pipe(process.stdout);
  await c.start();
  for await (const e of c.events()) { const t: RuntEvent['type'] = e.type; void t; }
  return c.wait();
}
export function code(e: unknown): string | undefined { return e instanceof RuntError ? e.code : undefined; }
// @ts-expect-error: the status carries no such field
export const bad = (w: WaitResult) => w.status;
`,
  );
  const r = spawnSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', dir], {
    cwd: dir,
    env: env(),
    encoding: 'utf8',
    timeout: 120_000,
  });
  t.equal(r.status, 0, r.stdout + r.stderr);
});
