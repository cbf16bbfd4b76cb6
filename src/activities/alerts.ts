/**
 * Alert activities: watching a market's status for incidents (the same status `seqflow status`
 * shows) and sending one alert to SLACK_REPORTING_URL. They run for the market's alert workflow,
 * apart from the market and its epochs, which an alert never delays.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { alertBody, incidentsOf, type Alert, type WatchIncidentsInput, type WatchIncidentsResult } from '../alerts/incidents.js';
import type { AlertSettings } from '../config.js';
import { describeMarket } from '../status.js';

export interface AlertActivityDeps {
  client: Client;
  alerts: AlertSettings;
  /** How often the status is read while nothing changes (ms). */
  pollMs: number;
}

/** How many failed epochs an alert names. */
const NAMED_FAILURES = 5;

export function createAlertActivities(deps: AlertActivityDeps) {
  return {
    /**
     * Reads the market's status every poll until its incidents differ from `known` or more epochs
     * failed (or `maxWaitMs` passed), then returns the incidents of now. Heartbeats each poll.
     */
    async watchIncidents(input: WatchIncidentsInput): Promise<WatchIncidentsResult> {
      const ctx = Context.current();
      const deadline = Date.now() + input.maxWaitMs;
      const known = [...input.known].sort().join('\n');
      for (;;) {
        const row = await describeMarket(deps.client, input.market);
        const epochsFailed = typeof row.epochsFailed === 'number' ? row.epochsFailed : input.epochsFailed;
        const incidents = incidentsOf(
          { market: input.market, workflow: String(row.workflow), problems: (row.problems as WatchIncidentsResult['incidents'] | undefined) ?? [], epochsFailed },
          { rejectedAnswersThreshold: deps.alerts.rejectedAnswersThreshold },
        );
        const moreFailed = input.epochsFailed !== null && epochsFailed !== null && epochsFailed > input.epochsFailed;
        const changed = incidents.map((i) => i.key).sort().join('\n') !== known || moreFailed || input.epochsFailed === null;
        if (changed || Date.now() >= deadline) {
          const failures = (row.failedEpochs as WatchIncidentsResult['latestFailed'] | undefined) ?? [];
          const newly = moreFailed ? Math.min(epochsFailed - input.epochsFailed!, NAMED_FAILURES) : 0;
          return { incidents, epochsFailed, latestFailed: newly > 0 ? failures.slice(-newly) : [] };
        }
        ctx.heartbeat();
        await ctx.sleep(deps.pollMs);
      }
    },

    /** POSTs one alert (upstream's body, timestamped now); a failure is retried by Temporal. */
    async sendAlert(alert: Alert): Promise<void> {
      const { url, timeoutMs } = deps.alerts;
      if (!url) return;
      const signal = AbortSignal.any([Context.current().cancellationSignal, AbortSignal.timeout(timeoutMs)]);
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: alertBody(alert, new Date()), signal });
      const answer = (await res.text()).slice(0, 300);
      if (res.status < 200 || res.status >= 300) throw ApplicationFailure.retryable(`the alert webhook answered HTTP ${res.status}: ${answer}`, 'AlertNotDelivered');
    },
  };
}
