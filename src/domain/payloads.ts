/**
 * Wire formats of the neighbours, byte for byte (upstream-collector.md §2.2, §5.2 and §7):
 * strings escaped as Go's encoding/json escapes them (gojson.ts), uint256 values (canonical
 * decimal strings here) written as bare JSON numbers, as Go writes *big.Int.
 */
import { isCanonicalDecimal } from './decimal.js';
import { goJsonString } from './gojson.js';

function jsonNumber(decimal: string): string {
  if (!isCanonicalDecimal(decimal)) throw new RangeError(`not a canonical decimal: ${JSON.stringify(decimal)}`);
  return decimal;
}

/** One `finalizerQueue` message: `{"DataMarketAddress","EpochID","BatchID","Batch"}`. */
export function finalizerMessage(checksumMarket: string, epochId: string, batchId: number, batchJson: string): string {
  const { head, tail } = finalizerMessageFrame(checksumMarket, epochId, batchId);
  return `${head}${batchJson}${tail}`;
}

/** finalizerMessage's bytes before and after the batch JSON, for a script that reads the batch from Redis itself. */
export function finalizerMessageFrame(checksumMarket: string, epochId: string, batchId: number): { head: string; tail: string } {
  return { head: `{"DataMarketAddress":${goJsonString(checksumMarket)},"EpochID":${jsonNumber(epochId)},"BatchID":${batchId},"Batch":`, tail: '}' };
}

/** One `attestorQueue` message: `{"DataMarketAddress","BatchCID","EpochID"}` (the Go struct's field order). */
export function attestorMessage(checksumMarket: string, batchCid: string, epochId: string): string {
  return `{"DataMarketAddress":${goJsonString(checksumMarket)},"BatchCID":${goJsonString(batchCid)},"EpochID":${jsonNumber(epochId)}}`;
}

/** Body of `POST /submitBatchSize`, in the field order of the upstream Go struct. */
export function batchSizeBody(checksumMarket: string, epochId: string, batchSize: number, authToken: string): string {
  return `{"epochID":${jsonNumber(epochId)},"batchSize":${batchSize},"authToken":${goJsonString(authToken)},"dataMarketAddress":${goJsonString(checksumMarket)}}`;
}
