/**
 * The markets as the worker's HTTP server reports them: each market's status (the same as
 * `seqflow status`: src/status.ts), read at most once a second however often it is asked, as
 * Prometheus series, as the `/ready` verdict and as `/status`.
 */
import type { Client } from '@temporalio/client';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ChainClient } from '../chain/rpc.js';
import { describeMarket, type MarketRow } from '../status.js';

/** How long a read of the markets' status is served again: scrapes and probes stay cheap. */
const CACHE_MS = 1000;
const HEALTHS = ['ok', 'degraded', 'failed'] as const;
/** Per-market counters of the market workflow's state (carried across continue-as-new). */
const COUNTERS = {
  epochsStarted: ['seqflow_epochs_started_total', 'Epochs whose batch preparation was started'],
  epochsBatched: ['seqflow_epochs_batched_total', 'Epochs batched (counted, stored and handed to submission)'],
  epochsFailed: ['seqflow_epochs_failed_total', 'Epochs that failed (a refusal no retry can fix)'],
  epochsOrphaned: ['seqflow_epochs_orphaned_total', 'Epochs whose release left the chain before their window closed'],
} as const;

export interface Readiness {
  ready: boolean;
  /** Why not, one line per market at fault. */
  reasons: string[];
}

export class MarketObserver {
  private cached: { atMs: number; rows: Promise<MarketRow[]> } | null = null;
  /** Block timestamps (seconds) by number, for the lag in seconds; bounded. */
  private readonly times = new Map<number, number>();

  constructor(
    private readonly client: Client,
    private readonly chain: ChainClient,
    readonly markets: readonly string[],
    private readonly readyMaxLagBlocks: number,
  ) {}

  /** Every configured market's status row (cached for a second). */
  rows(): Promise<MarketRow[]> {
    const now = Date.now();
    if (!this.cached || now - this.cached.atMs >= CACHE_MS) {
      const rows = Promise.all(this.markets.map((m) => describeMarket(this.client, m).catch((err: unknown) => ({ market: m, workflowId: '', workflow: 'UNKNOWN', error: String(err) }) as MarketRow)));
      this.cached = { atMs: now, rows };
    }
    return this.cached.rows;
  }

  /**
   * Ready when every configured market's workflow runs and answers, is within
   * READY_MAX_LAG_BLOCKS of the head, and its health is not `failed`.
   */
  async readiness(): Promise<Readiness> {
    const reasons = (await this.rows()).flatMap((row) => {
      if (row.workflow !== 'RUNNING') return [`${row.market}: market workflow ${String(row.workflow)}${row.error ? `: ${String(row.error)}` : ''}`];
      if (typeof row.state !== 'string' || !['following', 'paused', 'halted', 'stopping'].includes(row.state)) return [`${row.market}: ${String(row.state)}${row.error ? `: ${String(row.error)}` : ''}`];
      if (row.health === 'failed') return [`${row.market}: health failed: ${(row.problems as Array<{ kind: string }>).map((p) => p.kind).join(', ')}`];
      if (typeof row.headLag !== 'number') return [`${row.market}: head not known yet`];
      if (row.headLag > this.readyMaxLagBlocks) return [`${row.market}: ${row.headLag} blocks behind the head (READY_MAX_LAG_BLOCKS ${this.readyMaxLagBlocks})`];
      return [];
    });
    return { ready: reasons.length === 0, reasons };
  }

  /** The per-market series, filled from the status rows at each scrape. */
  register(registry: Registry): void {
    const rowsForScrape = () => this.rows();
    const gauge = (name: string, help: string, labelNames: string[], fill: (g: Gauge, rows: MarketRow[]) => Promise<void> | void) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers: [registry],
        async collect() {
          this.reset();
          await fill(this, await rowsForScrape());
        },
      });
    const running = (rows: MarketRow[]) => rows.filter((r) => r.workflow === 'RUNNING' && typeof r.state === 'string' && r.state !== 'unknown');

    gauge('seqflow_market_up', '1 when the market workflow runs and answers its status query', ['market'], (g, rows) => {
      for (const r of rows) g.set({ market: r.market }, running([r]).length);
    });
    gauge('seqflow_chain_head_block', 'The chain head the market last saw', ['market'], (g, rows) => {
      for (const r of running(rows)) if (typeof r.head === 'number') g.set({ market: r.market }, r.head);
    });
    gauge('seqflow_follower_cursor_block', 'The last block the market has followed (its cursor minus one)', ['market'], (g, rows) => {
      for (const r of running(rows)) if (typeof r.nextBlock === 'number') g.set({ market: r.market }, r.nextBlock - 1);
    });
    gauge('seqflow_follower_lag_blocks', 'Blocks between the head and the last block followed', ['market'], (g, rows) => {
      for (const r of running(rows)) if (typeof r.headLag === 'number') g.set({ market: r.market }, r.headLag);
    });
    gauge('seqflow_follower_lag_seconds', "Chain time between the head and the last block followed (the blocks' timestamps)", ['market'], async (g, rows) => {
      for (const r of running(rows)) {
        if (typeof r.head !== 'number' || typeof r.nextBlock !== 'number') continue;
        const seconds = await this.timeBetween(r.nextBlock - 1, r.head);
        if (seconds !== null) g.set({ market: r.market }, seconds);
      }
    });
    gauge('seqflow_market_health', 'The market health as a state set: 1 for the current one of ok, degraded, failed', ['market', 'health'], (g, rows) => {
      for (const r of running(rows)) for (const h of HEALTHS) g.set({ market: r.market, health: h }, r.health === h ? 1 : 0);
    });
    gauge('seqflow_market_problems', 'Problems the market shows now, by kind (see the README: status)', ['market', 'kind'], (g, rows) => {
      for (const r of running(rows)) for (const p of (r.problems as Array<{ kind: string }> | undefined) ?? []) g.inc({ market: r.market, kind: p.kind });
    });
    gauge('seqflow_market_open_epochs', 'Epochs whose batch preparation is open', ['market'], (g, rows) => {
      for (const r of running(rows)) if (Array.isArray(r.openEpochs)) g.set({ market: r.market }, r.openEpochs.length);
    });
    for (const [field, [name, help]] of Object.entries(COUNTERS)) {
      new Counter({
        name,
        help: `${help} (the market workflow's count)`,
        labelNames: ['market'],
        registers: [registry],
        async collect() {
          this.reset();
          for (const r of running(await rowsForScrape())) if (typeof r[field] === 'number') this.inc({ market: r.market }, r[field]);
        },
      });
    }
  }

  /** Seconds of chain time from block `from` to block `to`, or null when the node cannot tell now. */
  private async timeBetween(from: number, to: number): Promise<number | null> {
    if (from < 0 || to <= from) return 0;
    const missing = [from, to].filter((n) => !this.times.has(n));
    if (missing.length > 0) {
      try {
        for (const h of await this.chain.headers(missing)) this.times.set(h.number, h.timestamp);
      } catch {
        return null; // a scrape never waits on a failing node; the series skips this sample
      }
      while (this.times.size > 1000) this.times.delete(this.times.keys().next().value!);
    }
    return Math.max(0, this.times.get(to)! - this.times.get(from)!);
  }
}
