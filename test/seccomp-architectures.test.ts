// linux.seccomp.architectures: every SCMP_ARCH_* name config-linux.md lists (the one table,
// src/spec/constants.ts) is carried out — the container runs under a filter that holds it — or
// refused in one line naming its entry: one the linked libseccomp does not know (2.5.4 knows no
// LOONGARCH64, M68K, SH or SHEB), or one of the other byte order (libseccomp cannot mix it with the
// native architecture). Nothing is left behind by a refusal.
import t from 'tap';
import { endianness, machine } from 'node:os';
import { describe, errorLines, leftovers, makeBundle, stateRoot } from './helpers/index.js';
import { SECCOMP_ARCHES, SECCOMP_ARCHITECTURES } from '../src/spec/constants.js';
import { native } from '../src/native.js';

const HOST_ENDIAN = endianness() === 'LE' ? 'little' : 'big';
/** The host's own architecture as libseccomp names it (x86_64 → SCMP_ARCH_X86_64). */
const NATIVE = `SCMP_ARCH_${machine().toUpperCase()}`;

t.test('each architecture name is carried out or refused naming its entry', async (t) => {
  const root = stateRoot(t);
  const version = native().seccompVersion();
  const ran: string[] = [];
  const refused: string[] = [];
  for (const name of SECCOMP_ARCHES) {
    const b = makeBundle(t, 'grep Seccomp: /proc/self/status', (s) => {
      s.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', architectures: [name] };
    });
    const r = root.run(b, root.id('arch'));
    const field = `linux.seccomp.architectures[0]: ${name}`;
    const { endian } = SECCOMP_ARCHITECTURES[name];
    const unknown = `${field}: the libseccomp runt is linked with (${version}) does not know this architecture`;
    const otherByteOrder = `${field} is ${endian}-endian: libseccomp cannot put it in one filter with this host's ${HOST_ENDIAN}-endian ${machine()} (and no process here makes its system calls)`;
    if (r.code === 0) {
      t.equal(endian, HOST_ENDIAN, `${name}: carried out only with the host's byte order`);
      t.equal(r.stdout.trim().replace(/\s+/g, ' '), 'Seccomp: 2', `${name}: the container ran under the filter`);
    } else {
      // Unknown to libseccomp comes first; else only the other byte order is refused.
      const lines = errorLines(r);
      t.equal(lines.length, 1, `${name}: one line: ${describe(r)}`);
      t.ok(
        lines[0] === unknown || (endian !== HOST_ENDIAN && lines[0] === otherByteOrder),
        `${name}: refused naming the entry and why: ${JSON.stringify(lines[0])}`,
      );
    }
    (r.code === 0 ? ran : refused).push(name);
    t.same(root.entries(), [], `${name}: no state directory`);
    t.same(leftovers(root.path, r.id, b.dir), [], `${name}: nothing left behind`);
  }
  if (SECCOMP_ARCHES.includes(NATIVE as never)) t.ok(ran.includes(NATIVE), `the host's own ${NATIVE} is carried out`);
  t.comment(`carried out: ${ran.join(' ')}; refused: ${refused.join(' ')}`);

  // The entry named is the one refused, not the first of the list.
  if (ran.length && refused.length) {
    const b = makeBundle(t, 'true', (s) => {
      s.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', architectures: [ran[0], refused[0]] };
    });
    const r = root.run(b, root.id('arch'));
    t.not(r.code, 0);
    t.match(errorLines(r), [new RegExp(`^linux\\.seccomp\\.architectures\\[1\\]: ${refused[0]}[: ]`)], 'the second entry is named');
  }
});
