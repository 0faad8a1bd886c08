// runt-init, the program every container process execs first (csrc/init_main.cc): what it does with
// input that did not come from the runtime. It must refuse it, never crash on it or run anything.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from './helpers/index.js';

const INIT = join(REPO, 'build/Release/runt-init');

t.test('runt-init is a static executable next to the addon', async (t) => {
  t.ok(statSync(INIT).mode & 0o111, 'executable');
  const elf = readFileSync(INIT);
  t.equal(elf.subarray(0, 4).toString('latin1'), '\x7fELF', 'an ELF file');
  // 64-bit ELF: no PT_INTERP program header, so no dynamic loader and no shared library.
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const types = Array.from({ length: elf.readUInt16LE(0x38) }, (_, i) => elf.readUInt32LE(phoff + i * phentsize));
  t.ok(types.includes(1), 'it has loadable segments (the headers were read right)');
  t.notOk(types.includes(3), 'no interpreter: statically linked');
});

t.test('run by hand it says what it is for and exits 2', async (t) => {
  const r = spawnSync(INIT, [], { encoding: 'utf8' });
  t.equal(r.status, 2);
  t.match(r.stderr, /started by the runt runtime/);
  t.equal(spawnSync(INIT, ['x', 'y'], { encoding: 'utf8' }).status, 2, 'fd arguments that are not numbers');
});

t.test('a plan that is not one (garbage, truncated, empty) ends it with status 1, not a signal', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'runt-init-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cases: Array<[string, Buffer]> = [
    ['garbage', Buffer.from('this is not a plan, just text that goes on for a while')],
    ['empty', Buffer.alloc(0)],
    ['a header only', Buffer.concat([Buffer.from('TNUR', 'latin1'), Buffer.alloc(60, 0xff)])],
  ];
  for (const [name, bytes] of cases) {
    const file = join(dir, name.replace(/ /g, '-'));
    writeFileSync(file, bytes);
    const planFd = openSync(file, 'r');
    const log = openSync(join(dir, 'sock'), 'w'); // not a socket: the report is lost, the exit is not
    try {
      // fd 3: the "sync socket", fd 4: the plan
      const r = spawnSync(INIT, ['3', '4'], { stdio: ['ignore', 'ignore', 'pipe', log, planFd], encoding: 'utf8' });
      t.equal(r.signal, null, `${name}: no crash`);
      t.equal(r.status, 1, `${name}: exit status 1`);
    } finally {
      closeSync(planFd);
      closeSync(log);
    }
  }
});
