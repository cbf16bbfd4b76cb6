/**
 * Which of a market's problems are incidents worth an alert, and the alert as the upstream
 * service sends it (`SLACK_REPORTING_URL`; upstream-collector.md §7, `clients/reporting.go`):
 * `{"process_name","error_msg","timestamp","severity"}` in that order, the timestamp as Go's
 * `time.Time.String()` writes it (without the monotonic clock reading), encoded as Go's
 * encoding/json does. Pure: shared by the alert workflow and its activities.
 */
import { goJsonString } from '../domain/gojson.js';

export type Severity = 'High' | 'Medium' | 'Low';

/** An incident: one alert when it starts, one when it clears, whatever happens in between. */
export interface Incident {
  /** Identity across polls: the market and the kind of problem. */
  key: string;
  kind: string;
  severity: Severity;
  /** As shown when it started. */
  detail: string;
}

/** What a market's status row says, as far as alerts go (src/status.ts MarketRow). */
export interface MarketSnapshot {
  market: string;
  /** The market workflow's execution status: RUNNING, COMPLETED (stopped by the operator), FAILED, TERMINATED, … or NOT STARTED. */
  workflow: string;
  problems: ReadonlyArray<{ kind: string; detail: string; count?: number }>;
  epochsFailed: number | null;
}

const SEVERITY: Record<string, Severity> = {
  'finality-violation': 'High',
  'follower-stalled': 'High',
  'redis-unavailable': 'High',
  'redis-data-lost': 'High',
  'market-not-running': 'High',
  'rpc-answers-rejected': 'Medium',
  'day-mismatch': 'Medium',
  'epoch-retrying': 'Medium',
};

/** A workflow status that no operator chose: the market has stopped following the chain. */
const DOWN = new Set(['FAILED', 'TERMINATED', 'TIMED_OUT', 'CANCELLED', 'CANCELED']);

/**
 * The market's incidents now: each problem of a known kind (open epochs retrying make one
 * incident per market; rejected RPC answers only from `rejectedAnswersThreshold` on), and a
 * market workflow that ended without `stop`.
 */
export function incidentsOf(snapshot: MarketSnapshot, opts: { rejectedAnswersThreshold: number }): Incident[] {
  const incidents = new Map<string, Incident>();
  const add = (kind: string, detail: string) => {
    const key = `${snapshot.market}/${kind}`;
    const existing = incidents.get(key);
    if (existing) existing.detail = `${existing.detail}; ${detail}`;
    else incidents.set(key, { key, kind, severity: SEVERITY[kind] ?? 'Medium', detail });
  };
  if (DOWN.has(snapshot.workflow)) add('market-not-running', `the market workflow is ${snapshot.workflow}: start it again (seqflow start)`);
  for (const p of snapshot.problems) {
    if (!(p.kind in SEVERITY)) continue;
    if (p.kind === 'rpc-answers-rejected' && (p.count ?? 0) < opts.rejectedAnswersThreshold) continue;
    add(p.kind, p.detail);
  }
  return [...incidents.values()];
}

/** The alerts to send, given the incidents already alerted (`active`) and those of now. */
export function incidentChanges(active: Readonly<Record<string, Incident>>, now: readonly Incident[]): { started: Incident[]; cleared: Incident[] } {
  const current = new Set(now.map((i) => i.key));
  return { started: now.filter((i) => !(i.key in active)), cleared: Object.values(active).filter((i) => !current.has(i.key)) };
}

/** The alert an incident's start or end makes (its timestamp is added when it is sent). */
export interface Alert {
  processName: string;
  errorMsg: string;
  severity: Severity;
}

export function startAlert(market: string, incident: Incident): Alert {
  return { processName: `seqflow: ${incident.kind}`, errorMsg: `${market}: ${incident.detail}`, severity: incident.severity };
}

export function clearAlert(market: string, incident: Incident): Alert {
  return { processName: `seqflow: ${incident.kind}`, errorMsg: `${market}: resolved: ${incident.kind}`, severity: 'Low' };
}

/** Epochs that failed since the last alert; `latest` are the newest of them, with their failures. */
export function failedEpochsAlert(market: string, newlyFailed: number, total: number, latest: ReadonlyArray<{ epochId: string; error: string }>): Alert {
  const named = latest.map((e) => `epoch ${e.epochId}: ${e.error}`).join('; ');
  return { processName: 'seqflow: epoch-failed', errorMsg: `${market}: ${newlyFailed} epoch${newlyFailed === 1 ? '' : 's'} failed (${total} in all)${named ? `: ${named}` : ''}`, severity: 'High' };
}

/** Go's `time.Time.String()` for a UTC instant: `2006-01-02 15:04:05.999999999 +0000 UTC` (fraction trimmed of zeros). */
export function goTimeString(date: Date): string {
  const iso = date.toISOString(); // 2026-11-30T12:34:56.789Z
  const fraction = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction ? `.${fraction}` : ''} +0000 UTC`;
}

/** The webhook body, byte for byte as the Go service's SequencerAlert marshals. */
export function alertBody(alert: Alert, at: Date): string {
  return `{"process_name":${goJsonString(alert.processName)},"error_msg":${goJsonString(alert.errorMsg)},"timestamp":${goJsonString(goTimeString(at))},"severity":${goJsonString(alert.severity)}}`;
}

export interface WatchIncidentsInput {
  market: string;
  /** Keys of the incidents alerted and not cleared yet. */
  known: string[];
  /** The market's epochsFailed already alerted; null on the first call (old failures are not alerted). */
  epochsFailed: number | null;
  /** Return after this long even if nothing changed (ms). */
  maxWaitMs: number;
}

export interface WatchIncidentsResult {
  incidents: Incident[];
  epochsFailed: number | null;
  /** When epochsFailed went up: the newest failed epochs (at most that many, at most 5), oldest first. */
  latestFailed: Array<{ epochId: string; error: string }>;
}

/**
 * The rate limit: how long (ms) the next alert waits so that at most `maxPerMinute` go out in
 * any minute, given the times (ms) of those sent before; 0 when it can go now.
 */
export function rateLimitDelayMs(sentMs: readonly number[], nowMs: number, maxPerMinute: number): number {
  const lastMinute = sentMs.filter((t) => nowMs - t < 60_000).sort((a, b) => a - b);
  if (lastMinute.length < maxPerMinute) return 0;
  return lastMinute[lastMinute.length - maxPerMinute]! + 60_000 - nowMs;
}
