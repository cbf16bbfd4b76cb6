/**
 * Wire formats of the neighbours, byte for byte (upstream-collector.md §5.2 and §7).
 * uint256 values arrive as canonical decimal strings and are written as bare JSON numbers,
 * as Go's encoding/json writes *big.Int.
 */
import { isCanonicalDecimal } from './decimal.js';

function jsonNumber(decimal: string): string {
  if (!isCanonicalDecimal(decimal)) throw new RangeError(`not a canonical decimal: ${JSON.stringify(decimal)}`);
  return decimal;
}

/** One `finalizerQueue` message: `{"DataMarketAddress","EpochID","BatchID","Batch"}`. */
export function finalizerMessage(checksumMarket: string, epochId: string, batchId: number, batchJson: string): string {
  return `{"DataMarketAddress":${JSON.stringify(checksumMarket)},"EpochID":${jsonNumber(epochId)},"BatchID":${batchId},"Batch":${batchJson}}`;
}

/** Body of `POST /submitBatchSize`, in the field order of the upstream Go struct. */
export function batchSizeBody(checksumMarket: string, epochId: string, batchSize: number, authToken: string): string {
  return `{"epochID":${jsonNumber(epochId)},"batchSize":${batchSize},"authToken":${JSON.stringify(authToken)},"dataMarketAddress":${JSON.stringify(checksumMarket)}}`;
}
