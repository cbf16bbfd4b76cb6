/**
 * What a bench section reports: measured rows (time, requests, memory, a note) and issue
 * targets (the figure, the bound, and whether it was met), printed side by side and written to
 * bench/results.json with the machine's load (each section's latest run). Nothing here is asserted.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';

export interface Row {
  section: string;
  case: string;
  ms: number;
  /** Redis commands the server processed, or RPC HTTP requests. */
  requests?: number;
  /** Heap growth at its highest during the case (sampled every 20 ms), and after it (after a GC). */
  heapPeakMiB?: number;
  heapRetainedMiB?: number;
  note?: string;
}

/** One of issue 9's targets: `measured` and `bound` in `unit`; `upstream` the same figure for the Go service's pattern, where there is one. */
export interface Target {
  /** Set by the report: the section that measured it. */
  section?: string;
  id: string;
  name: string;
  measured: number;
  bound: number;
  unit: string;
  /** How `measured` compares with `bound`: `max` means at most. */
  kind: 'max' | 'min';
  upstream?: number;
  note?: string;
}

export const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

/** The q-quantile (0..1) of ascending `sorted` values. */
export const quantile = (sorted: readonly number[], q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;

/** Commands redis-server processed so far (INFO counts the INFO call itself too). */
export async function redisCommands(redis: Redis): Promise<number> {
  const info = await redis.info('stats');
  return Number(/total_commands_processed:(\d+)/.exec(info)![1]);
}

export class Report {
  readonly rows: Row[] = [];
  readonly targets: Target[] = [];
  private readonly runs: SectionRun[] = [];
  private section = '';

  /** Rows and targets reported from now on belong to `name`. */
  begin(name: string): void {
    this.section = name;
    this.runs.push({ section: name, at: new Date().toISOString(), loadAtStart: os.loadavg() });
  }

  row(row: Omit<Row, 'section'>): void {
    this.rows.push({ section: this.section, ...row });
  }

  target(target: Target): void {
    this.targets.push({ section: this.section, ...target });
  }

  /** Runs `fn` and reports its time and heap: peak growth while it ran, growth kept after a GC. */
  async measure(name: string, fn: () => Promise<{ requests?: number; note?: string } | void>): Promise<void> {
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    let heapPeak = heapBefore;
    const sampler = setInterval(() => (heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed)), 20);
    const t0 = performance.now();
    try {
      const extra = (await fn()) ?? {};
      const ms = Math.round(performance.now() - t0);
      global.gc?.();
      const retained = Math.max(0, process.memoryUsage().heapUsed - heapBefore);
      this.row({ case: name, ms, heapPeakMiB: mib(heapPeak - heapBefore), heapRetainedMiB: mib(retained), ...extra });
    } finally {
      clearInterval(sampler);
    }
  }

  print(): void {
    console.log(`\nseqflow bench (real services on loopback; ${os.cpus().length} cores, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')})\n`);
    console.table(
      this.rows.map((r) => ({
        section: r.section,
        case: r.case,
        'time ms': r.ms || '',
        'Redis cmds / RPC reqs': r.requests ?? '',
        'heap peak MiB': r.heapPeakMiB ?? '',
        'heap kept MiB': r.heapRetainedMiB ?? '',
        note: r.note ?? '',
      })),
    );
    if (this.targets.length === 0) return;
    console.log('\nissue 9 targets\n');
    console.table(
      this.targets.map((t) => ({
        target: `${t.id} ${t.name}`,
        measured: `${t.measured} ${t.unit}`,
        bound: `${t.kind === 'max' ? '≤' : '≥'} ${t.bound} ${t.unit}`,
        met: met(t) ? 'yes' : 'NO',
        upstream: t.upstream === undefined ? '' : `${t.upstream} ${t.unit} (×${ratio(t.upstream, t.measured)})`,
        note: t.note ?? '',
      })),
    );
  }

  /**
   * Writes bench/results.json: the machine, and for each section its latest run (when, with
   * which arguments, the load at its start), rows and targets. Sections not run this time keep
   * what the file held for them, so that runs of single sections add up to one picture.
   */
  write(file: string, args: string[]): void {
    const machine = { cpus: os.cpus().length, model: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.platform()} ${os.release()}` };
    const ran = new Set(this.runs.map((r) => r.section));
    const kept = readResults(file);
    const keep = <T extends { section?: string }>(items: readonly T[] | undefined) => (items ?? []).filter((x) => x.section !== undefined && !ran.has(x.section));
    const results: Results = {
      machine,
      sections: [...keep(kept?.sections), ...this.runs.map((r) => ({ ...r, args }))],
      rows: [...keep(kept?.rows), ...this.rows],
      targets: [...keep(kept?.targets), ...this.targets.map((t) => ({ ...t, met: met(t), ...(t.upstream === undefined ? {} : { upstreamRatio: ratio(t.upstream, t.measured) }) }))],
    };
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  }
}

/** When a section ran and the machine's load averages (1, 5, 15 min) at its start. */
interface SectionRun {
  section: string;
  at: string;
  loadAtStart: number[];
  args?: string[];
}

interface Results {
  machine: Record<string, unknown>;
  sections: SectionRun[];
  rows: Row[];
  targets: Array<Target & { met: boolean; upstreamRatio?: number }>;
}

/** What `file` holds in this layout; null if it is missing or in an older one (its sections are then not kept). */
function readResults(file: string): Results | null {
  if (!existsSync(file)) return null;
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<Results>;
  return Array.isArray(parsed.sections) && Array.isArray(parsed.rows) && Array.isArray(parsed.targets) ? (parsed as Results) : null;
}

const met = (t: Target) => (t.kind === 'max' ? t.measured <= t.bound : t.measured >= t.bound);
const ratio = (upstream: number, measured: number) => (measured === 0 ? Infinity : Math.round((upstream / measured) * 100) / 100);
