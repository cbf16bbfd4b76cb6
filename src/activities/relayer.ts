/**
 * Relayer calls. The auth token comes from the worker's config, never from workflow history.
 * Success is HTTP 200, as upstream. Network errors, timeouts, 408, 429 and 5xx are thrown as
 * retryable (Temporal retries them with backoff); any other 4xx is the relayer refusing the
 * request, which no retry can fix: non-retryable, with the relayer's answer in the message. The
 * answer may echo the body we sent: the token is removed from it before it goes anywhere.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Redis } from 'ioredis';
import * as keys from '../domain/keys.js';
import { batchSizeBody } from '../domain/payloads.js';
import { redact } from '../domain/redact.js';
import type { RelayerSettings } from '../config.js';
import type { RelayerMetrics } from '../metrics/metrics.js';
import type { BatchSubmissionInput } from '../domain/types.js';
import type { Span } from '@opentelemetry/api';
import { clientSpan, serverAttributes } from '../tracing/spans.js';
import { readingKey } from './redis-scripts.js';

export interface RelayerActivityDeps {
  redis: Redis;
  relayer: RelayerSettings;
  metrics?: RelayerMetrics;
}

export const RELAYER_REJECTED = 'RelayerRejected';

/**
 * POSTs `body` to the relayer from inside an activity: cancellable, bounded by HTTP_TIMEOUT; a
 * client span `POST <path>` of the activity's trace (its host and path only, never the body).
 */
export function postToRelayer(relayer: RelayerSettings, path: string, body: string, metrics?: RelayerMetrics): Promise<void> {
  const attributes = { 'http.request.method': 'POST', 'url.path': path, ...serverAttributes(relayer.url) };
  return clientSpan(`POST ${path}`, attributes, (span) => post(relayer, path, body, metrics, span));
}

async function post(relayer: RelayerSettings, path: string, body: string, metrics: RelayerMetrics | undefined, span: Span | undefined): Promise<void> {
  const timeout = AbortSignal.timeout(relayer.timeoutMs);
  const cancelled = Context.current().cancellationSignal;
  const started = performance.now();
  let res: Response;
  let answer: string;
  try {
    res = await fetch(`${relayer.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.any([cancelled, timeout]) });
    // Redacted before it is cut: a cut through the token would leave its head in the text.
    answer = redact(await res.text(), relayer.authToken).slice(0, 1000);
  } catch (err) {
    if (!cancelled.aborted) metrics?.relayerRequest(path, timeout.aborted ? 'timeout' : 'error', (performance.now() - started) / 1000);
    throw err;
  }
  span?.setAttribute('http.response.status_code', res.status);
  metrics?.relayerRequest(path, String(res.status), (performance.now() - started) / 1000);
  if (res.status === 200) return;
  const message = `relayer answered ${path} with HTTP ${res.status}: ${answer}`;
  const retryable = res.status >= 500 || res.status === 408 || res.status === 429 || res.status < 400;
  throw retryable ? ApplicationFailure.retryable(message, 'RelayerUnavailable') : ApplicationFailure.nonRetryable(message, RELAYER_REJECTED);
}

export function createRelayerActivities(deps: RelayerActivityDeps) {
  return {
    /**
     * `POST /submitBatchSize`, also for 0 batches. Once accepted it is not sent again for the
     * epoch; the relayer's own effect (SET epoch_batch_size) is idempotent should a crash fall
     * between its 200 and our guard.
     */
    async submitBatchSize(input: BatchSubmissionInput): Promise<{ sentNow: boolean }> {
      const guard = keys.batchSizeSent(input.market.toLowerCase(), input.epochId);
      // GET, not EXISTS: a key of another type at the guard's name is no mark of ours (WRONGTYPE, retried).
      if ((await readingKey(guard, deps.redis.get(guard))) !== null) return { sentNow: false };
      await postToRelayer(deps.relayer, '/submitBatchSize', batchSizeBody(input.market, input.epochId, input.batchCount, deps.relayer.authToken), deps.metrics);
      await deps.redis.set(guard, String(input.batchCount), 'EX', keys.GUARD_TTL_SECONDS);
      return { sentNow: true };
    },
  };
}
