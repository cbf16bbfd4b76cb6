/**
 * The 12 routes of upstream's read API (upstream-collector.md §8, upstream pkgs/service/api.go),
 * each with upstream's checks in upstream's order, its status codes and texts, and the Redis keys
 * it reads. What differs, where no client can rely on the upstream behaviour:
 * - a failed Redis or contract read is an error answer (500, with a text), never counts of 0,
 *   an empty list or an empty 200 (upstream's /totalSubmissions, /eligibleNodesCount* and
 *   /discardedSubmissionsByDay did that);
 * - lists are `[]`, never `null`, and in a fixed order (slot IDs by value, projects and
 *   submissions by ID), so that pages of /discardedSubmissionsByDay are stable and the 50
 *   projects of /discardedSubmissionsByEpoch are always the same 50;
 * - stored values upstream crashed on (a count that is no number, a submission without request,
 *   a project without details) are read or skipped instead of dropping the connection.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { readCurrentDay } from '../chain/current-day.js';
import { runLimited } from '../domain/concurrency.js';
import { compareCodePoints } from '../domain/gojson.js';
import * as sharedKeys from '../domain/keys.js';
import { compareSlotIds, daysBack, goAtoi, goBigInt64, int64, paginate, rfc3339 } from './answers.js';
import { decodeFirstValue, unmarshal, type GoJson, type GoStruct, type GoValue } from './go-json.js';
import * as keys from './keys.js';
import {
  DiscardedSubmissionByProject,
  DiscardedSubmissionDetails,
  DiscardedSubmissionsByDayRequest,
  EligibleNodesCountRequest,
  EligibleNodesPastDaysRequest,
  EpochDataMarketDayRequest,
  EpochDataMarketRequest,
  SlotIDInDataMarketRequest,
  SnapshotterNodeVersionRequest,
  SubmissionsRequest,
  configuredMarket,
  slotProblem,
  tokenMatches,
} from './requests.js';
import { parseSnapshotSubmission } from './submission.js';

/** The contract reads the API needs (on ProtocolState, by the market's address). */
export interface ProtocolStateReader {
  /** `dayCounter(market)`, a decimal string. */
  dayCounter(market: string): Promise<string>;
  /** `slotSubmissionCount(market, slotId, day)`, a decimal string. */
  slotSubmissionCount(market: string, slotId: bigint, day: bigint): Promise<string>;
}

export interface RouteDeps {
  redis: Redis;
  chain: ProtocolStateReader;
  authReadToken: string;
  /** EIP-55 addresses. */
  dataMarkets: readonly string[];
  /** The server's time zone: its offset east of UTC, in minutes, at an instant (ms). */
  utcOffsetMinutes: (epochMs: number) => number;
}

/** An error answer: a status and upstream's plain text. */
export class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly text: string,
  ) {
    super(text);
    this.name = 'Refusal';
  }
}

/** What a route's handler gets besides its decoded body. */
export interface Call {
  deps: RouteDeps;
  log: FastifyBaseLogger;
  /** `?includeSlotDetails=true` (upstream: the first value, exactly `true`). */
  includeSlotDetails: boolean;
}

/** A route as the server registers it. */
export interface ApiRoute {
  path: string;
  tags: string[];
  summary: string;
  description: string;
  /** The request body's Go struct (its schema goes into the OpenAPI document). */
  request: GoStruct;
  /** Whether it takes `?includeSlotDetails=true`. */
  takesSlotDetails: boolean;
  /** JSON Schema of the success payload (`info.response`). */
  response: Record<string, unknown>;
  /** Each error status and what it answers. */
  errors: Record<number, string>;
  /** Decodes the body as upstream does, then answers: the payload, or a Refusal. */
  run(call: Call, body: Uint8Array): Promise<GoJson>;
}

interface RouteSpec<T extends GoStruct> extends Omit<ApiRoute, 'run' | 'request' | 'takesSlotDetails'> {
  request: T;
  takesSlotDetails?: boolean;
  answer(call: Call, body: GoValue<T>): Promise<GoJson>;
}

function route<T extends GoStruct>(spec: RouteSpec<T>): ApiRoute {
  const { answer, ...docs } = spec;
  return {
    ...docs,
    takesSlotDetails: spec.takesSlotDetails ?? false,
    async run(call, body) {
      const decoded = decodeFirstValue(body, spec.request);
      // Upstream answers the decoder's error text itself.
      if (!decoded.ok) throw new Refusal(400, decoded.error);
      return answer(call, decoded.value);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Upstream's checks, with its texts
// ---------------------------------------------------------------------------------------------

function checkToken(call: Call, token: string): void {
  if (!tokenMatches(token, call.deps.authReadToken)) throw new Refusal(401, 'Incorrect Token!');
}

/** The configured market (EIP-55) the request names. */
function checkMarket(call: Call, given: string): string {
  const market = configuredMarket(call.deps.dataMarkets, given);
  if (market === null) throw new Refusal(400, 'Invalid Data Market Address!');
  return market;
}

function checkSlot(slotID: bigint): void {
  const problem = slotProblem(slotID);
  if (problem !== null) throw new Refusal(400, problem);
}

function checkEpoch(epochID: bigint): void {
  if (epochID <= 0n) throw new Refusal(400, 'EpochID is missing or invalid');
}

/** Upstream's "current day" (CurrentDayKey, else dayCounter); upstream answers a failure with 400. */
async function currentDay(call: Call, market: string): Promise<bigint> {
  try {
    const day = await readCurrentDay(call.deps.redis, market, () => call.deps.chain.dayCounter(market), (value) =>
      call.log.warn({ market, value }, 'CurrentDayKey holds no day number; asking the contract'),
    );
    return BigInt(day);
  } catch (err) {
    call.log.error({ market, err }, 'cannot read the current day');
    throw new Refusal(400, 'Failed to fetch current day');
  }
}

/** The checks of the routes on an epoch of a day, in upstream's order; the market in lower case. */
function checkEpochOfDay(call: Call, req: { token: string; day: bigint; epochID: bigint; dataMarketAddress: string }): string {
  checkToken(call, req.token);
  if (req.day <= 0n) throw new Refusal(400, 'Invalid day!');
  checkEpoch(req.epochID);
  return checkMarket(call, req.dataMarketAddress).toLowerCase();
}

/** A day from 1 to the current day, as upstream checks it (the current day read first). */
async function checkDay(call: Call, market: string, day: bigint): Promise<void> {
  const today = int64(await currentDay(call, market));
  if (day < 1n) throw new Refusal(400, 'Day must be greater than or equal to 1');
  if (day > today) throw new Refusal(400, `Day must not exceed the current day (${today})`);
}

/** `read`'s result, or a 500 with `text` (logged with the cause). */
async function orRefuse<T>(call: Call, read: () => Promise<T>, text: string): Promise<T> {
  try {
    return await read();
  } catch (err) {
    call.log.error({ err }, text);
    throw new Refusal(500, text);
  }
}

/** The results of a pipeline, each an error or a reply; the whole of it failing is a 500 with `text`. */
async function pipelineReplies(call: Call, pipeline: ReturnType<Redis['pipeline']>, text: string): Promise<Array<[Error | null, unknown]>> {
  return orRefuse(
    call,
    async () => {
      const replies = await pipeline.exec();
      if (replies === null) throw new Error('the pipeline was not run');
      return replies;
    },
    text,
  );
}

/** An eligible-node set's members, sorted (Redis returns a set in no order). */
const sortedSlots = (members: readonly string[]) => [...members].sort(compareSlotIds);

// ---------------------------------------------------------------------------------------------
// Schemas of the answers, for the OpenAPI document
// ---------------------------------------------------------------------------------------------

const int = { type: 'integer', format: 'int64' };
const str = { type: 'string' };
const obj = (properties: Record<string, unknown>) => ({ type: 'object', properties });
const arr = (items: Record<string, unknown>) => ({ type: 'array', items });
const eligibleNodes = obj({ day: int, eligibleNodesCount: int, slotIDs: { ...arr(str), description: 'with ?includeSlotDetails=true, else []' } });
const submissionInfo = obj({ timestamp: { ...str, description: 'RFC 3339, in the server time zone' }, nodeVersion: str });

const BAD_MARKET = '`Invalid Data Market Address!`';
const BAD_SLOT = '`Invalid slotID: <n>` (1..10000)';
const BAD_EPOCH = '`EpochID is missing or invalid`';
const BAD_BODY = "the JSON decoder's error text (Go's `encoding/json`: `EOF`, `unexpected EOF`, `invalid character …`, `json: cannot unmarshal …`)";
const NO_DAY = '`Failed to fetch current day`';
const UNAUTHORIZED = { 401: '`Incorrect Token!`' };

/** A project's discarded submissions of the day as the answer shows them: the CIDs `[]`, never `null`. */
function discardedDetailsByDay(details: { finalizedCID: string; discardedSubmissionCount: bigint; discardedSubmissions: string[] | null }): GoJson {
  return { finalizedCID: details.finalizedCID, discardedSubmissionCount: details.discardedSubmissionCount, discardedSubmissions: details.discardedSubmissions ?? [] };
}

// ---------------------------------------------------------------------------------------------
// The routes
// ---------------------------------------------------------------------------------------------

/** Contract reads of /totalSubmissions in flight at once. */
const CONTRACT_READS_IN_FLIGHT = 8;

const lastSubmission = (path: string, keyOf: (market: string, slot: string) => string, what: string): ApiRoute =>
  route({
    path,
    tags: ['Submissions'],
    summary: `Get the last time a ${what} was received`,
    description: `The time of the slot's last ${what} (\`${keyOf('<market>', '<slot>')}\`, unix seconds) and its node version (\`snapshotter:<market>:<slot>:node_version\`, \`v0.0.0\` when unknown).`,
    request: SlotIDInDataMarketRequest,
    response: submissionInfo,
    errors: { 400: `${BAD_BODY}; ${BAD_MARKET}; ${BAD_SLOT}`, ...UNAUTHORIZED, 500: `\`Failed to fetch last ${what}\` (none stored); \`Failed to parse timestamp\`; \`Internal Server Error: Failed to fetch snapshotter node version\`` },
    async answer(call, req) {
      checkToken(call, req.token);
      const market = checkMarket(call, req.dataMarketAddress).toLowerCase();
      checkSlot(req.slotID);
      const { redis } = call.deps;
      const slot = req.slotID.toString();
      const stored = await orRefuse(call, () => redis.get(keyOf(market, slot)), `Failed to fetch last ${what}`);
      if (stored === null || stored === '') throw new Refusal(500, `Failed to fetch last ${what}`);
      const seconds = goAtoi(stored);
      if (seconds === null) throw new Refusal(500, 'Failed to parse timestamp');
      const version = await orRefuse(call, () => redis.get(keys.snapshotterNodeVersion(market, slot)), 'Internal Server Error: Failed to fetch snapshotter node version');
      return { timestamp: rfc3339(seconds, call.deps.utcOffsetMinutes), nodeVersion: version || 'v0.0.0' };
    },
  });

export const routes: readonly ApiRoute[] = [
  route({
    path: '/totalSubmissions',
    tags: ['Submissions'],
    summary: 'Get eligible and total submissions count',
    description:
      "A slot's submissions on each of the last `pastDays` days, newest first: `eligibleSubmissions` from `EligibleSlotSubmissionsKey.<market>.<day>.<slot>` (the finalizer's), else the contract's `slotSubmissionCount`; `totalSubmissions` from `SlotSubmissionsKey.<market>.<day>.<slot>` (0 when none).",
    request: SubmissionsRequest,
    response: arr(obj({ day: int, eligibleSubmissions: int, totalSubmissions: int })),
    errors: {
      400: `${BAD_BODY}; \`Past days should be at least 1\`; ${BAD_SLOT}; ${BAD_MARKET}; ${NO_DAY}; \`Past days cannot exceed the current day (<day>)\``,
      ...UNAUTHORIZED,
      500: '`Internal Server Error: Failed to fetch submission counts`, `… total submissions`, `… eligible submissions` (Redis or the contract failed)',
    },
    async answer(call, req) {
      checkToken(call, req.token);
      if (req.pastDays < 1n) throw new Refusal(400, 'Past days should be at least 1');
      checkSlot(req.slotID);
      const market = checkMarket(call, req.dataMarketAddress);
      const today = await currentDay(call, market);
      if (req.pastDays > int64(today)) throw new Refusal(400, `Past days cannot exceed the current day (${int64(today)})`);

      const m = market.toLowerCase();
      const slot = req.slotID.toString();
      const days = daysBack(today, req.pastDays);
      const pipeline = call.deps.redis.pipeline();
      for (const day of days) pipeline.get(sharedKeys.eligibleSlotSubmissions(m, day.toString(), slot)).get(sharedKeys.slotSubmissions(m, day.toString(), slot));
      const replies = await pipelineReplies(call, pipeline, 'Internal Server Error: Failed to fetch submission counts');

      const eligible: bigint[] = [];
      const total: bigint[] = [];
      const fromContract: number[] = [];
      days.forEach((day, i) => {
        const [eligibleError, eligibleValue] = replies[2 * i]!;
        const [totalError, totalValue] = replies[2 * i + 1]!;
        // Upstream's fallback: no eligible count in Redis (or none it can read) → the contract's.
        const stored = eligibleError === null && typeof eligibleValue === 'string' && eligibleValue !== '' ? goBigInt64(eligibleValue) : null;
        if (eligibleError !== null) call.log.warn({ market, day: String(day), err: eligibleError }, 'cannot read the eligible count; asking the contract');
        else if (typeof eligibleValue === 'string' && eligibleValue !== '' && stored === null) call.log.warn({ market, day: String(day), value: eligibleValue }, 'the eligible count is no number; asking the contract');
        if (stored === null) fromContract.push(i);
        else eligible[i] = stored;

        if (totalError !== null) {
          call.log.error({ market, day: String(day), err: totalError }, 'cannot read the total submissions');
          throw new Refusal(500, 'Internal Server Error: Failed to fetch total submissions');
        }
        const counted = typeof totalValue === 'string' && totalValue !== '' ? goBigInt64(totalValue) : 0n;
        // As upstream: a count that is no number counts 0 (logged).
        if (counted === null) call.log.warn({ market, day: String(day), value: totalValue }, 'the total submission count is no number; 0');
        total[i] = counted ?? 0n;
      });
      await runLimited(fromContract.length, CONTRACT_READS_IN_FLIGHT, async (k) => {
        const i = fromContract[k]!;
        const count = await orRefuse(call, () => call.deps.chain.slotSubmissionCount(market, req.slotID, days[i]!), 'Internal Server Error: Failed to fetch eligible submissions');
        eligible[i] = int64(BigInt(count));
      });
      return days.map((day, i) => ({ day: int64(day), eligibleSubmissions: eligible[i]!, totalSubmissions: total[i]! }));
    },
  }),

  route({
    path: '/eligibleNodesCount',
    tags: ['Eligible Nodes'],
    summary: 'Get eligible nodes count for a specific day',
    description: 'How many slots were eligible on `day` (`EligibleNodeByDayKey.<market>.<day>`), with their IDs (in order) when `?includeSlotDetails=true`.',
    request: EligibleNodesCountRequest,
    takesSlotDetails: true,
    response: eligibleNodes,
    errors: {
      400: `${BAD_BODY}; ${BAD_MARKET}; ${NO_DAY}; \`Day must be greater than or equal to 1\`; \`Day must not exceed the current day (<day>)\``,
      ...UNAUTHORIZED,
      500: '`Internal Server Error: Failed to fetch eligible nodes`',
    },
    async answer(call, req) {
      checkToken(call, req.token);
      const market = checkMarket(call, req.dataMarketAddress);
      await checkDay(call, market, req.day);
      const members = await orRefuse(call, () => call.deps.redis.smembers(sharedKeys.eligibleNodeByDay(market.toLowerCase(), req.day.toString())), 'Internal Server Error: Failed to fetch eligible nodes');
      return { day: req.day, eligibleNodesCount: members.length, slotIDs: call.includeSlotDetails ? sortedSlots(members) : [] };
    },
  }),

  route({
    path: '/eligibleNodesCountPastDays',
    tags: ['Eligible Nodes'],
    summary: 'Get eligible nodes count for past days',
    description: 'The eligible slots of each of the last `pastDays` days, newest first (see /eligibleNodesCount).',
    request: EligibleNodesPastDaysRequest,
    takesSlotDetails: true,
    response: arr(eligibleNodes),
    errors: {
      400: `${BAD_BODY}; \`Past days should be at least 1\`; ${BAD_MARKET}; ${NO_DAY}; \`Past days cannot exceed the current day (<day>)\``,
      ...UNAUTHORIZED,
      500: '`Internal Server Error: Failed to fetch eligible nodes`',
    },
    async answer(call, req) {
      checkToken(call, req.token);
      if (req.pastDays < 1n) throw new Refusal(400, 'Past days should be at least 1');
      const market = checkMarket(call, req.dataMarketAddress);
      const today = await currentDay(call, market);
      if (req.pastDays > int64(today)) throw new Refusal(400, `Past days cannot exceed the current day (${int64(today)})`);
      const days = daysBack(today, req.pastDays);
      const pipeline = call.deps.redis.pipeline();
      for (const day of days) pipeline.smembers(sharedKeys.eligibleNodeByDay(market.toLowerCase(), day.toString()));
      const replies = await pipelineReplies(call, pipeline, 'Internal Server Error: Failed to fetch eligible nodes');
      return days.map((day, i) => {
        const [err, members] = replies[i]!;
        if (err !== null) {
          call.log.error({ market, day: String(day), err }, 'cannot read the eligible nodes');
          throw new Refusal(500, 'Internal Server Error: Failed to fetch eligible nodes');
        }
        const slots = members as string[];
        return { day: int64(day), eligibleNodesCount: slots.length, slotIDs: call.includeSlotDetails ? sortedSlots(slots) : [] };
      });
    },
  }),

  route({
    path: '/batchCount',
    tags: ['Batch Count'],
    summary: 'Get total batch count',
    description: 'How many batches the epoch was split into (`BatchCountKey.<market>.<epoch>`, 24 h).',
    request: EpochDataMarketRequest,
    response: obj({ totalBatches: int }),
    errors: {
      400: `${BAD_BODY}; ${BAD_EPOCH}; ${BAD_MARKET}`,
      ...UNAUTHORIZED,
      500: '`Internal Server Error: Failed to fetch batch count`; `Internal Server Error: Invalid batch count format` (also when there is none, as upstream)',
    },
    async answer(call, req) {
      checkToken(call, req.token);
      checkEpoch(req.epochID);
      const market = checkMarket(call, req.dataMarketAddress).toLowerCase();
      const stored = await orRefuse(call, () => call.deps.redis.get(sharedKeys.batchCount(market, req.epochID.toString())), 'Internal Server Error: Failed to fetch batch count');
      const count = goAtoi(stored ?? '');
      if (count === null) throw new Refusal(500, 'Internal Server Error: Invalid batch count format');
      return { totalBatches: count };
    },
  }),

  route({
    path: '/epochSubmissionDetails',
    tags: ['Submissions'],
    summary: 'Get epoch submission details',
    description:
      "Every submission the dequeuer kept for the epoch (`EpochSubmissionsKey.<market>.<epoch>`, 30 min), by submission ID; zero fields are left out, and values protojson cannot read are skipped, as upstream does.",
    request: EpochDataMarketRequest,
    response: obj({
      submissions: arr(
        obj({
          submissionID: str,
          submissionData: obj({ request: obj({ slotID: int, deadline: int, snapshotCID: str, epochID: int, projectID: str }), signature: str, header: str }),
        }),
      ),
    }),
    errors: { 400: `${BAD_BODY}; ${BAD_EPOCH}; ${BAD_MARKET}`, ...UNAUTHORIZED, 500: '`Internal Server Error: Failed to fetch epoch submission details`' },
    async answer(call, req) {
      checkToken(call, req.token);
      checkEpoch(req.epochID);
      const market = checkMarket(call, req.dataMarketAddress).toLowerCase();
      const stored = await orRefuse(call, () => call.deps.redis.hgetallBuffer(keys.epochSubmissions(market, req.epochID.toString())), 'Internal Server Error: Failed to fetch epoch submission details');
      const submissions: GoJson[] = [];
      for (const id of Object.keys(stored).sort(compareCodePoints)) {
        const parsed = parseSnapshotSubmission(stored[id]!);
        if (!parsed.ok) {
          call.log.warn({ submissionID: id, error: parsed.error }, 'skipping a submission protojson cannot read');
          continue;
        }
        const { request: r, signature, header } = parsed.value;
        // Go's omitempty: zero values are left out (a submission without request has `"request":{}`).
        const request: Record<string, GoJson> = {};
        if (r?.slotId) request.slotID = r.slotId;
        if (r?.deadline) request.deadline = r.deadline;
        if (r?.snapshotCid) request.snapshotCID = r.snapshotCid;
        if (r?.epochId) request.epochID = r.epochId;
        if (r?.projectId) request.projectID = r.projectId;
        submissions.push({ submissionID: id, submissionData: { request, ...(signature ? { signature } : {}), ...(header ? { header } : {}) } });
      }
      return { submissions };
    },
  }),

  route({
    path: '/eligibleSlotSubmissionCount',
    tags: ['Eligible Submission Count'],
    summary: 'Get the submission counts of all eligible slotIDs',
    description: "Each slot's eligible submissions up to the epoch (`EligibleSlotSubmissionByEpochKey.<market>.<day>.<epoch>`), by slot ID; entries that are no numbers are skipped, as upstream does.",
    request: EpochDataMarketDayRequest,
    response: obj({ eligibleSubmissionCounts: arr(obj({ slotID: int, count: int })) }),
    errors: { 400: `${BAD_BODY}; \`Invalid day!\`; ${BAD_EPOCH}; ${BAD_MARKET}`, ...UNAUTHORIZED, 500: '`Internal Server Error: Failed to fetch eligible submission counts for epoch <epoch>`' },
    async answer(call, req) {
      const market = checkEpochOfDay(call, req);
      const stored = await orRefuse(
        call,
        () => call.deps.redis.hgetall(keys.eligibleSlotSubmissionByEpoch(market, req.day.toString(), req.epochID.toString())),
        `Internal Server Error: Failed to fetch eligible submission counts for epoch ${req.epochID}`,
      );
      const counts: Array<{ field: string; slotID: bigint; count: bigint }> = [];
      for (const [field, value] of Object.entries(stored)) {
        const slotID = goAtoi(field);
        const count = goAtoi(value);
        if (slotID === null || count === null) {
          call.log.warn({ slotID: field, count: value }, 'skipping an eligible submission count that is no number');
          continue;
        }
        counts.push({ field, slotID, count });
      }
      counts.sort((a, b) => (a.slotID !== b.slotID ? (a.slotID < b.slotID ? -1 : 1) : compareCodePoints(a.field, b.field)));
      return { eligibleSubmissionCounts: counts.map(({ slotID, count }) => ({ slotID, count })) };
    },
  }),

  route({
    path: '/discardedSubmissionsByEpoch',
    tags: ['Discarded Submissions'],
    summary: 'Get discarded submission details by epoch',
    description: "The projects whose submissions the finalizer discarded in the epoch (`DiscardedSubmissionKey.<market>.<day>.<epoch>`), at most 50: the first 50 by project ID. Values that are no such JSON are skipped, as upstream does.",
    request: EpochDataMarketDayRequest,
    response: obj({
      projects: arr(
        obj({
          projectID: str,
          details: obj({ mostFrequentSnapshotCID: str, discardedSubmissionCount: int, discardedSubmissions: { type: 'object', description: 'slot ID → discarded CIDs', additionalProperties: arr(str) } }),
        }),
      ),
    }),
    errors: {
      400: `${BAD_BODY}; \`Invalid day!\`; ${BAD_EPOCH}; ${BAD_MARKET}`,
      ...UNAUTHORIZED,
      500: '`Internal Server Error: Failed to fetch discarded submission details from Redis for epoch <epoch>`',
    },
    async answer(call, req) {
      const market = checkEpochOfDay(call, req);
      const stored = await orRefuse(
        call,
        () => call.deps.redis.hgetallBuffer(keys.discardedSubmissionsByEpoch(market, req.day.toString(), req.epochID.toString())),
        `Internal Server Error: Failed to fetch discarded submission details from Redis for epoch ${req.epochID}`,
      );
      const projects: GoJson[] = [];
      for (const projectID of Object.keys(stored).sort(compareCodePoints)) {
        const details = unmarshal(stored[projectID]!, DiscardedSubmissionDetails);
        if (!details.ok) {
          call.log.warn({ projectID, error: details.error }, 'skipping discarded submission details that are no such JSON');
          continue;
        }
        const { mostFrequentSnapshotCID, discardedSubmissionCount, discardedSubmissions } = details.value;
        const bySlot = new Map<string, GoJson>([...(discardedSubmissions ?? [])].map(([slot, cids]) => [slot, cids ?? []]));
        projects.push({ projectID, details: { mostFrequentSnapshotCID, discardedSubmissionCount, discardedSubmissions: bySlot } });
        if (projects.length === 50) break;
      }
      return { projects };
    },
  }),

  route({
    path: '/discardedSubmissionsByDay',
    tags: ['Discarded Submissions'],
    summary: 'Get discarded submission details by day',
    description:
      "A slot's discarded submissions of the day by project (field `<slot>` of `DiscardedSubmissionKey.<market>.<day>`), by project ID, 50 a page. A day with nothing discarded answers an empty page 0 of 0 with `currentPage` as asked, as upstream does.",
    request: DiscardedSubmissionsByDayRequest,
    response: obj({
      slotID: int,
      discardedSubmissions: arr(obj({ projectID: str, details: obj({ finalizedCID: str, discardedSubmissionCount: int, discardedSubmissions: arr(str) }) })),
      totalPages: int,
      currentPage: int,
    }),
    errors: {
      400: `${BAD_BODY}; ${BAD_MARKET}; ${NO_DAY}; \`Day must be greater than or equal to 1\`; \`Day must not exceed the current day (<day>)\`; ${BAD_SLOT}`,
      ...UNAUTHORIZED,
      404: '`No discarded submissions found for slotID <slot>`',
      500: '`Internal Server Error: Failed to fetch discarded submission details from Redis for day <day>`; `Internal Server Error: Failed to parse discarded submission details for slotID <slot>`',
    },
    async answer(call, req) {
      checkToken(call, req.token);
      const market = checkMarket(call, req.dataMarketAddress);
      await checkDay(call, market, req.day);
      checkSlot(req.slotID);
      const stored = await orRefuse(
        call,
        () => call.deps.redis.hgetallBuffer(keys.discardedSubmissionsByDay(market.toLowerCase(), req.day.toString())),
        `Internal Server Error: Failed to fetch discarded submission details from Redis for day ${req.day}`,
      );
      if (Object.keys(stored).length === 0) return { slotID: req.slotID, discardedSubmissions: [], totalPages: 0, currentPage: req.page };
      const slotJson = stored[req.slotID.toString()];
      if (slotJson === undefined || slotJson.length === 0) throw new Refusal(404, `No discarded submissions found for slotID ${req.slotID}`);
      const byProject = unmarshal(slotJson, DiscardedSubmissionByProject);
      if (!byProject.ok) {
        call.log.error({ slotID: String(req.slotID), error: byProject.error }, 'discarded submission details that are no such JSON');
        throw new Refusal(500, `Internal Server Error: Failed to parse discarded submission details for slotID ${req.slotID}`);
      }
      const projects = [...(byProject.value ?? [])]
        .filter(([projectID, details]) => {
          if (details === null) call.log.warn({ projectID }, 'skipping a project without details');
          return details !== null;
        })
        .sort(([a], [b]) => compareCodePoints(a, b))
        .map(([projectID, details]): GoJson => ({ projectID, details: discardedDetailsByDay(details!) }));
      const page = paginate(projects, req.page);
      return { slotID: req.slotID, discardedSubmissions: page.items, totalPages: page.totalPages, currentPage: page.currentPage };
    },
  }),

  lastSubmission('/lastSimulatedSubmission', keys.lastSimulatedSubmission, 'simulated submission'),
  lastSubmission('/lastSnapshotSubmission', keys.lastSnapshotSubmission, 'snapshot submission'),

  route({
    path: '/activeNodesCountByEpoch',
    tags: ['Active Nodes'],
    summary: 'Get active nodes count for an epoch',
    description: 'How many slots submitted for the epoch (`SCARD ActiveSnapshottersForEpoch.<market>.<epoch>`, 30 min).',
    request: EpochDataMarketRequest,
    response: int,
    errors: { 400: `${BAD_BODY}; ${BAD_EPOCH}; ${BAD_MARKET}`, ...UNAUTHORIZED, 500: '`Internal Server Error: Failed to fetch epoch active nodes count`' },
    async answer(call, req) {
      checkToken(call, req.token);
      checkEpoch(req.epochID);
      const market = checkMarket(call, req.dataMarketAddress).toLowerCase();
      return orRefuse(call, () => call.deps.redis.scard(keys.activeSnapshottersForEpoch(market, req.epochID.toString())), 'Internal Server Error: Failed to fetch epoch active nodes count');
    },
  }),

  route({
    path: '/snapshotterNodeVersion',
    tags: ['Submissions'],
    summary: 'Get snapshotter node version',
    description: 'The node version the slot last submitted with (`snapshotter:<market>:<slot>:node_version`).',
    request: SnapshotterNodeVersionRequest,
    response: str,
    errors: { 400: `${BAD_BODY}; ${BAD_MARKET}; ${BAD_SLOT}`, ...UNAUTHORIZED, 500: '`Failed to fetch snapshotter node version` (also when there is none, as upstream)' },
    async answer(call, req) {
      checkToken(call, req.token);
      const market = checkMarket(call, req.dataMarketAddress).toLowerCase();
      checkSlot(req.slotID);
      const version = await orRefuse(call, () => call.deps.redis.get(keys.snapshotterNodeVersion(market, req.slotID.toString())), 'Failed to fetch snapshotter node version');
      if (!version) throw new Refusal(500, 'Failed to fetch snapshotter node version');
      return version;
    },
  }),
];
