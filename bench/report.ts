// The bench's results as a markdown table with ratios to runc, the targets checked against
// them, and the machine they were taken on; written into docs/PERFORMANCE.md between two markers.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { spawnSync } from 'node:child_process';

export type Column = 'runt' | 'library' | 'runc' | 'crun' | 'floor' | 'node';

export const COLUMN_TITLES: Record<Column, string> = {
  runt: 'runt CLI',
  library: 'runt library',
  runc: 'runc',
  crun: 'crun',
  floor: 'kernel floor',
  node: '`node -e 0`',
};

export interface Row {
  title: string;
  unit: 'ms' | 'MB' | '/s' | 'ok';
  values: Partial<Record<Column, number | boolean>>;
  /** Lower is better (latency, memory); throughput: higher is better. */
  lowerIsBetter: boolean;
}

export interface Machine {
  date: string;
  cpu: string;
  nproc: number;
  kernel: string;
  node: string;
  runc?: string;
  crun?: string;
  loadBefore: string;
  loadAfter: string;
}

function firstLine(argv: string[]): string | undefined {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n')[0].trim() : undefined;
}

export function describeMachine(loadBefore: string): Machine {
  const model = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? '?';
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    cpu: model,
    nproc: cpus().length,
    kernel: release(),
    node: process.version,
    runc: firstLine(['runc', '--version']),
    crun: firstLine(['crun', '--version']),
    loadBefore,
    loadAfter: loadNow(),
  };
}

export function loadNow(): string {
  return loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}

function fmt(v: number | boolean | undefined, unit: Row['unit']): string {
  if (v === undefined) return '–';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (Number.isNaN(v)) return 'failed';
  if (unit === 'MB') return (v / 1024).toFixed(1);
  return v >= 100 ? v.toFixed(0) : v.toFixed(1);
}

export function markdownTable(rows: Row[], columns: Column[]): string {
  const head = `| | ${columns.map((c) => COLUMN_TITLES[c]).join(' | ')} |`;
  const sep = `|---|${columns.map(() => '---').join('|')}|`;
  const body = rows.map((r) => {
    const runc = r.values.runc;
    const cells = columns.map((c) => {
      const v = r.values[c];
      const text = fmt(v, r.unit);
      if (c === 'runc' || typeof v !== 'number' || typeof runc !== 'number' || !Number.isFinite(v) || !runc) return text;
      return `${text} (${(v / runc).toFixed(2)}x)`;
    });
    return `| ${r.title} (${r.unit === 'MB' ? 'MB' : r.unit === '/s' ? 'containers/s' : r.unit}) | ${cells.join(' | ')} |`;
  });
  return [head, sep, ...body].join('\n');
}

export interface Target {
  what: string;
  measured: string;
  met: boolean | undefined;
}

export function targetsTable(targets: Target[]): string {
  return [
    '| target | measured | met |',
    '|---|---|---|',
    ...targets.map((t) => `| ${t.what} | ${t.measured} | ${t.met === undefined ? 'n/a' : t.met ? 'yes' : '**no**'} |`),
  ].join('\n');
}

export function machineText(m: Machine, iterations: number, perLoop: number): string {
  return [
    `- date: ${m.date}`,
    `- machine: ${m.cpu}, ${m.nproc} CPUs, kernel ${m.kernel}, Node ${m.node}`,
    `- peers: ${[m.runc, m.crun].filter(Boolean).join(', ') || 'none installed'}`,
    `- load average (1/5/15 min) before: ${m.loadBefore}, after: ${m.loadAfter}`,
    `- medians of ${iterations} interleaved iterations (after 2 warm-ups); throughput: 2 loops × ${perLoop} containers, mean of 2 rounds`,
    '- `NODE_EXTRA_CA_CERTS` and `NODE_OPTIONS` unset for every process measured',
  ].join('\n');
}

/** Replace a generated section of the performance document (between the markers
 *  `<!-- NAME:begin (written by `COMMAND`; …) -->` and `<!-- NAME:end -->`), keeping everything
 *  around it; a missing section is added at the end. Default: `npm run bench`'s own section. */
export function writeGeneratedSection(path: string, section: string, name = 'bench', command = 'npm run bench'): void {
  const BEGIN = `<!-- ${name}:begin (written by \`${command}\`; edit outside these markers) -->`;
  const END = `<!-- ${name}:end -->`;
  const block = `${BEGIN}\n${section.trim()}\n${END}`;
  if (!existsSync(path)) {
    writeFileSync(path, `# Performance\n\n${block}\n`);
    return;
  }
  const text = readFileSync(path, 'utf8');
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  writeFileSync(path, a >= 0 && b > a ? `${text.slice(0, a)}${block}${text.slice(b + END.length)}` : `${text.trimEnd()}\n\n${block}\n`);
}
