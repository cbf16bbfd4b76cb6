/**
 * The read API's request bodies and the checks upstream makes of them (upstream-collector.md §8,
 * upstream pkgs/service/api.go). Each body is a Go struct decoded by go-json.ts exactly as
 * upstream decodes it; the same descriptions give the OpenAPI document its request schemas.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { goInt, goMap, goPtr, goSlice, goString, goStruct, type GoStruct, type GoType } from './go-json.js';

// The structs as upstream declares them: field order and names (their JSON tags) as in api.go,
// since Go's error texts name them (`SubmissionsRequest.slotID`).
export const SubmissionsRequest = goStruct('service.SubmissionsRequest', { token: goString, slotID: goInt, pastDays: goInt, dataMarketAddress: goString });
export const SlotIDInDataMarketRequest = goStruct('service.SlotIDInDataMarketRequest', {
  token: goString,
  dataMarketAddress: goString,
  snapshotterAddress: goString,
  slotID: goInt,
});
export const EpochDataMarketRequest = goStruct('service.EpochDataMarketRequest', { token: goString, epochID: goInt, dataMarketAddress: goString });
export const EpochDataMarketDayRequest = goStruct('service.EpochDataMarketDayRequest', { token: goString, day: goInt, epochID: goInt, dataMarketAddress: goString });
export const EligibleNodesCountRequest = goStruct('service.EligibleNodesCountRequest', { day: goInt, dataMarketAddress: goString, token: goString });
export const EligibleNodesPastDaysRequest = goStruct('service.EligibleNodesPastDaysRequest', { token: goString, pastDays: goInt, dataMarketAddress: goString });
export const DiscardedSubmissionsByDayRequest = goStruct('service.DiscardedSubmissionsByDayRequest', {
  day: goInt,
  slotID: goInt,
  dataMarketAddress: goString,
  token: goString,
  page: goInt,
});
export const SnapshotterNodeVersionRequest = goStruct('service.SnapshotterNodeVersionRequest', { token: goString, dataMarketAddress: goString, slotID: goInt });

// What the finalizer stores under DiscardedSubmissionKey, as upstream's handlers read it.

/** A value of the hash `DiscardedSubmissionKey.<market>.<day>.<epoch>` (field: project ID). */
export const DiscardedSubmissionDetails = goStruct('service.DiscardedSubmissionDetails', {
  mostFrequentSnapshotCID: goString,
  discardedSubmissionCount: goInt,
  discardedSubmissions: goMap(goSlice(goString)),
});
/** A value of the hash `DiscardedSubmissionKey.<market>.<day>` (field: slot ID): project ID → details. */
export const DiscardedSubmissionByProject = goMap(
  goPtr(
    goStruct('service.DiscardedSubmissionByProjectDetails', {
      finalizedCID: goString,
      discardedSubmissionCount: goInt,
      discardedSubmissions: goSlice(goString),
    }),
  ),
  'service.DiscardedSubmissionByProject',
);

/** Upstream's bound on slot IDs (`1 ≤ slotID ≤ 10000`). */
export const MAX_SLOT_ID = 10_000n;

/**
 * Whether the request's token is AUTH_READ_TOKEN, in constant time: both are hashed to equal-length
 * SHA-256 digests first, so neither the token's length nor the position of a difference shows in
 * the time taken.
 */
export function tokenMatches(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * The configured market (EIP-55) that `given` names, in any letter case, or null. Upstream wants
 * the exact string of its configuration; seqflow's configuration takes any case (README, fix 15),
 * and so does its API.
 */
export function configuredMarket(markets: readonly string[], given: string): string | null {
  const lower = given.toLowerCase();
  return markets.find((m) => m.toLowerCase() === lower) ?? null;
}

/** Upstream's text for a slot outside 1..10000, or null. */
export function slotProblem(slotID: bigint): string | null {
  return slotID < 1n || slotID > MAX_SLOT_ID ? `Invalid slotID: ${slotID}` : null;
}

/** What each request field means, for the OpenAPI document. */
const FIELD_DOCS: Record<string, { description: string; minimum?: number; maximum?: number }> = {
  token: { description: 'AUTH_READ_TOKEN' },
  dataMarketAddress: { description: 'a configured data market (any letter case)' },
  slotID: { description: 'snapshotter slot', minimum: 1, maximum: Number(MAX_SLOT_ID) },
  epochID: { description: 'epoch', minimum: 1 },
  day: { description: 'day number', minimum: 1 },
  pastDays: { description: 'how many days back from the current day, the current day included', minimum: 1 },
  page: { description: 'page of 50 projects, from 1 (below 1: page 1)' },
  snapshotterAddress: { description: 'accepted and ignored, as upstream does' },
};

/** The JSON Schema of a Go type, for the OpenAPI document (decoding never uses it: see go-json.ts). */
export function jsonSchemaOf(t: GoType): Record<string, unknown> {
  switch (t.kind) {
    case 'int':
      return { type: 'integer', format: 'int64' };
    case 'string':
      return { type: 'string' };
    case 'struct':
      return {
        type: 'object',
        properties: Object.fromEntries(Object.entries(t.fields).map(([name, type]) => [name, { ...jsonSchemaOf(type), ...FIELD_DOCS[name] }])),
      };
    case 'map':
      return { type: 'object', additionalProperties: jsonSchemaOf(t.elem) };
    case 'slice':
      return { type: 'array', items: jsonSchemaOf(t.elem) };
    case 'ptr':
      return jsonSchemaOf(t.elem);
  }
}

/** The request body schema of a route: the struct's fields, with Go's name for the type. */
export function bodySchemaOf(struct: GoStruct): Record<string, unknown> {
  return { ...jsonSchemaOf(struct), title: struct.qualifiedName.replace(/^.*\./, '') };
}
