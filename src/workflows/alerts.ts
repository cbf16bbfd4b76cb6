/**
 * A market's alerts (`market/<address>/alerts`, started by the worker when SLACK_REPORTING_URL
 * is set): one alert when an incident starts and one when it clears, never one per retry or
 * poll, and one when epochs fail. Its own workflow, so an alert that cannot be delivered waits
 * and retries without delaying anything else; the incidents alerted are its durable state, so a
 * worker restart neither repeats nor loses an alert, and one workflow ID means one alerter
 * however many workers run.
 */
import { continueAsNew, log, sleep, workflowInfo } from '@temporalio/workflow';
import { clearAlert, failedEpochsAlert, incidentChanges, rateLimitDelayMs, startAlert, type Alert, type Incident } from '../alerts/incidents.js';
import { sendAlert, watchIncidents } from './activity-stubs.js';

export interface MarketAlertsInput {
  market: string;
  /** Alerts per minute at most (ALERT_MAX_PER_MINUTE); more wait their turn. */
  maxPerMinute: number;
  /** Incidents alerted and not cleared, by key (carried across continue-as-new). */
  active?: Record<string, Incident>;
  epochsFailed?: number | null;
  /** Workflow times (ms) of the alerts sent in the last minute. */
  recentSendsMs?: number[];
}

/** How long one watch waits for a change before it returns. */
const WATCH_MAX_WAIT_MS = 10 * 60 * 1000;
const TURNS_PER_RUN = 200;

export async function marketAlertsWorkflow(input: MarketAlertsInput): Promise<never> {
  let active = input.active ?? {};
  let epochsFailed = input.epochsFailed ?? null;
  let recent = input.recentSendsMs ?? [];

  const send = async (alert: Alert) => {
    // Rate limit: wait for a slot in the last minute rather than drop the alert.
    const delayMs = rateLimitDelayMs(recent, Date.now(), input.maxPerMinute);
    if (delayMs > 0) await sleep(delayMs);
    recent = [...recent.filter((t) => Date.now() - t < 60_000), Date.now()];
    try {
      await sendAlert(alert);
    } catch (err) {
      // Retried for minutes already: the alert is logged, and the next ones go on.
      log.error('alert not delivered', { market: input.market, alert, error: String(err) });
    }
  };

  for (let turn = 0; turn < TURNS_PER_RUN; turn++) {
    const now = await watchIncidents({ market: input.market, known: Object.keys(active), epochsFailed, maxWaitMs: WATCH_MAX_WAIT_MS });
    const { started, cleared } = incidentChanges(active, now.incidents);
    for (const incident of started) await send(startAlert(input.market, incident));
    for (const incident of cleared) await send(clearAlert(input.market, incident));
    active = Object.fromEntries(now.incidents.map((i) => [i.key, active[i.key] ?? i]));
    if (epochsFailed !== null && now.epochsFailed !== null && now.epochsFailed > epochsFailed) {
      await send(failedEpochsAlert(input.market, now.epochsFailed - epochsFailed, now.epochsFailed, now.latestFailed));
    }
    epochsFailed = now.epochsFailed;
    if (workflowInfo().continueAsNewSuggested) break;
  }
  return continueAsNew<typeof marketAlertsWorkflow>({ market: input.market, maxPerMinute: input.maxPerMinute, active, epochsFailed, recentSendsMs: recent });
}
