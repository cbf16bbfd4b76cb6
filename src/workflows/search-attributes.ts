/**
 * What the Temporal Web UI shows of a seqflow run and lets an operator search by: the custom
 * search attributes (registered on the namespace: see README, "Finding runs in the Temporal Web
 * UI") and the static summary and details each run is started with. Workflow-safe: no I/O.
 *
 * Each run gets at its start what is known then (through the start options of the CLI and of the
 * parent workflow); the workflow upserts only what changes afterwards, since every upsert is a
 * command in its history.
 */
import { SearchAttributeType, defineSearchAttributeKey, type SearchAttributePair, type SearchAttributeUpdatePair } from '@temporalio/common';
import { patched, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { BatchPreparationInput, BatchSubmissionInput } from '../domain/types.js';
import { SEARCH_ATTRIBUTES_PATCH, type MarketState, type MarketWorkflowInput } from './definitions.js';

/** The data market, EIP-55, as in every workflow ID. */
export const MARKET_ADDRESS = defineSearchAttributeKey('MarketAddress', SearchAttributeType.KEYWORD);
/** A decimal string: epoch ids are uint256 on chain and can exceed an Int attribute's 64 bits. */
export const EPOCH_ID = defineSearchAttributeKey('EpochId', SearchAttributeType.KEYWORD);
/** A decimal string, for the same reason: the epoch's day, the reward update's, or a market's current day. */
export const DAY = defineSearchAttributeKey('Day', SearchAttributeType.KEYWORD);
/** Where the run is in seqflow's terms (see SeqflowStatus). */
export const SEQFLOW_STATUS = defineSearchAttributeKey('SeqflowStatus', SearchAttributeType.KEYWORD);

/** Every attribute seqflow sets: the namespace must have each, of its type, or starting a run fails. */
export const SEARCH_ATTRIBUTE_KEYS = [MARKET_ADDRESS, EPOCH_ID, DAY, SEQFLOW_STATUS] as const;

/** A key's type as `temporal operator search-attribute create --type` and `start-dev --search-attribute` spell it. */
export const SEARCH_ATTRIBUTE_TYPE_NAMES = { KEYWORD: 'Keyword' } as const satisfies Record<(typeof SEARCH_ATTRIBUTE_KEYS)[number]['type'], string>;

/**
 * The values of SeqflowStatus, distinct per kind of run so that a status alone names what it is
 * about (`failed` finds epochs, never their submissions):
 * - market: `following`, `paused`, `halted` (at a finality violation), `stopped`;
 * - epoch: `waiting` (its window is open, or closing: waiting for its end and the first block
 *   past it), `submitting` (batches stored, being sent), `batched`, `failed`, `orphaned` (its
 *   release left the chain);
 * - reward updates, and the batch submissions of epochs started before 0.6.0: `sending`, `sent`, `send-failed`.
 * A run that ends without running its code (terminated, timed out) keeps its last status: the
 * ExecutionStatus attribute says that.
 */
export type MarketRunStatus = 'following' | 'paused' | 'halted' | 'stopped';
export type EpochRunStatus = 'waiting' | 'submitting' | 'batched' | 'failed' | 'orphaned';
export type SendRunStatus = 'sending' | 'sent' | 'send-failed';
export type SeqflowStatus = MarketRunStatus | EpochRunStatus | SendRunStatus;

/** A running market's status, as `seqflow status` names it (a stopping market is still following until it stops). */
export function marketRunStatus(state: Pick<MarketState, 'paused' | 'violation'>): MarketRunStatus {
  if (state.violation) return 'halted';
  return state.paused ? 'paused' : 'following';
}

/** The search attribute values of a run; absent ones are not set. */
export interface RunAttributes {
  market?: string;
  epochId?: string;
  day?: string;
  status?: SeqflowStatus;
}

function pairs(values: RunAttributes): SearchAttributePair[] {
  // Every key is a Keyword (SearchAttributeKey<'KEYWORD'>, which @temporalio/common does not export by name).
  const all: Array<[typeof MARKET_ADDRESS, string | undefined]> = [
    [MARKET_ADDRESS, values.market],
    [EPOCH_ID, values.epochId],
    [DAY, values.day],
    [SEQFLOW_STATUS, values.status],
  ];
  return all.flatMap(([key, value]) => (value === undefined ? [] : [{ key, value }]));
}

/**
 * Inside a workflow: upserts those of `values` that differ from what the run has (one command,
 * or none when nothing changed). Only behind the search-attributes patch in workflow code that
 * existed before it.
 */
export function showAttributes(values: RunAttributes): void {
  const current = workflowInfo().typedSearchAttributes;
  const changed: SearchAttributeUpdatePair[] = pairs(values).filter(({ key, value }) => current.get(key) !== value);
  if (changed.length > 0) upsertSearchAttributes(changed);
}

/**
 * The body of a workflow that sends (a batch submission, a reward update): its status becomes
 * `sent` when `send` succeeds, `send-failed` when it fails; runs from before 0.5.0 replay without.
 */
export async function showSendOutcome<T>(send: () => Promise<T>): Promise<T> {
  const searchable = patched(SEARCH_ATTRIBUTES_PATCH);
  try {
    const result = await send();
    if (searchable) showAttributes({ status: 'sent' });
    return result;
  } catch (err) {
    if (searchable) showAttributes({ status: 'send-failed' });
    throw err;
  }
}

/** `0xAbCd…1234`: a summary is one short line; the details carry the full address. */
const short = (market: string) => `${market.slice(0, 6)}…${market.slice(-4)}`;

/** What a run is started with, for the Web UI: its search attributes, a one-line summary, markdown details. */
export interface RunStartOptions {
  typedSearchAttributes: SearchAttributePair[];
  staticSummary: string;
  staticDetails: string;
}

/** A market run started by the CLI: following from its start block, or resumed at its cursor. */
export function marketStartOptions(input: MarketWorkflowInput): RunStartOptions {
  const from = input.state?.cursor ? `resumed at block ${input.state.cursor.nextBlock}` : input.startBlock === undefined ? 'following from the confirmed head' : `following from block ${input.startBlock}`;
  return {
    typedSearchAttributes: pairs({ market: input.market, day: input.state?.days?.day, status: input.state ? marketRunStatus(input.state) : 'following' }),
    staticSummary: `market ${short(input.market)}, ${from}`,
    staticDetails: [
      `**Data market** ${input.market}`,
      `Follows the chain, starts each epoch's batch preparation \`market/${input.market}/epoch/<id>\` and the reward updates; its \`status\` query holds the cursor, head, day, open epochs and counters.`,
      `Find its epochs: \`MarketAddress = "${input.market}" AND WorkflowType IN ("epochWorkflow", "batchPreparationWorkflow")\` (the second: epochs started before 0.6.0).`,
    ].join('\n\n'),
  };
}

/** An epoch's batch preparation, started by its market: waiting for its window to end. */
export function epochStartOptions(input: BatchPreparationInput): RunStartOptions {
  return {
    typedSearchAttributes: pairs({ market: input.market, epochId: input.epochId, day: input.day, status: 'waiting' }),
    staticSummary: `epoch ${input.epochId} of ${short(input.market)}, released in block ${input.releaseBlockNumber}`,
    staticDetails: [
      `**Data market** ${input.market}`,
      `**Epoch** ${input.epochId}${input.day === undefined ? '' : `, day ${input.day}`}, released in block ${input.releaseBlockNumber}${input.releaseBlockHash === undefined ? '' : ` (${input.releaseBlockHash})`}`,
      `**Submission window** ${input.submissionWindowSeconds} s of chain time from the release block's timestamp; then the epoch's submissions are counted and batched, the batch count is sent to the relayer (\`/submitBatchSize\`) and each batch pushed to \`finalizerQueue\` once.`,
      `The result holds the batch count, the submissions batched and skipped as malformed, the day, and the window's blocks.`,
    ].join('\n\n'),
  };
}

/** An epoch's batch submission, started by its batch preparation once the batches are stored. */
export function submissionStartOptions(input: BatchSubmissionInput, day: string): RunStartOptions {
  const batches = `${input.batchCount} batch${input.batchCount === 1 ? '' : 'es'}`;
  return {
    typedSearchAttributes: pairs({ market: input.market, epochId: input.epochId, day, status: 'sending' }),
    staticSummary: `${batches} of epoch ${input.epochId} of ${short(input.market)}`,
    staticDetails: [
      `**Data market** ${input.market}`,
      `**Epoch** ${input.epochId}, day ${day}: ${batches}`,
      'Sends the batch count to the relayer (`/submitBatchSize`), then pushes each batch to `finalizerQueue` in BatchID order, once each.',
    ].join('\n\n'),
  };
}

/** A day's final reward update, started by its market. */
export function finalRewardsStartOptions(market: string, day: string): RunStartOptions {
  return {
    typedSearchAttributes: pairs({ market, day, status: 'sending' }),
    staticSummary: `final reward update of day ${day} of ${short(market)}`,
    staticDetails: [`**Data market** ${market}`, `**Day** ${day}: the eligible slots' submission counts and the number of eligible nodes, in chunks to \`/submitUpdateRewards\`.`].join('\n\n'),
  };
}

/** A periodic reward update at an interval epoch, started by its market. */
export function periodicRewardsStartOptions(market: string, epochId: string, day: string): RunStartOptions {
  return {
    typedSearchAttributes: pairs({ market, epochId, day, status: 'sending' }),
    staticSummary: `reward update at epoch ${epochId} (day ${day}) of ${short(market)}`,
    staticDetails: [
      `**Data market** ${market}`,
      `**Epoch** ${epochId}, day ${day}: today's submission counts of every slot (eligibleNodes 0), then the past days whose eligible-node count the chain still has at 0.`,
    ].join('\n\n'),
  };
}

/** A market's alert workflow, started by the worker when SLACK_REPORTING_URL is set. */
export function alertsStartOptions(market: string): RunStartOptions {
  return {
    typedSearchAttributes: pairs({ market }),
    staticSummary: `alerts of market ${short(market)} to SLACK_REPORTING_URL`,
    staticDetails: `Watches the market's status and sends one alert when an incident starts and one when it clears (README: Alerts).`,
  };
}
