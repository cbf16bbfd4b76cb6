/**
 * The id of a log event across the follower and the market: `<blockNumber>:<blockHash>:<logIndex>`.
 * The market acknowledges the events it received by these ids; the follower's record keeps them
 * scored by block number (see follower/record.ts). Pure: workflow code uses it too.
 */
export const eventId = (e: { blockNumber: number; blockHash: string; logIndex: number }) => `${e.blockNumber}:${e.blockHash}:${e.logIndex}`;
