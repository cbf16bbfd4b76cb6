/**
 * Whether an address is a data market of the ProtocolState contract, asked of the chain before
 * `seqflow start` starts a workflow for it: a typo'd or foreign address would otherwise be
 * followed for ever, with a submission window of 0 s and days of 0 epochs.
 */
import { protocolState } from '../chain/abi.js';
import { JsonRpcError } from '../chain/jsonrpc.js';
import { RejectedRpcAnswer, type ChainClient } from '../chain/rpc.js';
import { ConfigError } from '../config.js';

/** The market parameters the worker reads of ProtocolState (see loadMarketParams in src/activities/chain.ts). */
export const MARKET_PARAMS = ['snapshotSubmissionWindow', 'DAY_SIZE', 'dailySnapshotQuota', 'epochsInADay'] as const;

/** An eth_call that the contract refused: the node ran it and it reverted (no node failure). */
const reverted = (err: unknown): err is JsonRpcError => err instanceof JsonRpcError && /revert/i.test(err.rpcMessage);

/**
 * Why `market` is no data market of `contract`, or null if it is one. Powerloom's ProtocolState
 * reverts for an address that is no DataMarket contract; a market it does not know (and our
 * test contract, whose parameters are mappings) answers 0 for every parameter: both are no
 * market. Throws a ConfigError when no contract answers at PROTOCOL_STATE_CONTRACT, and the
 * node's error when the chain cannot be read.
 */
export async function notAMarket(chain: ChainClient, contract: string, market: string): Promise<string | null> {
  try {
    const values = await Promise.all(MARKET_PARAMS.map((fn) => chain.viewUint(contract, protocolState, fn, [market])));
    if (values.every((v) => v === '0')) return `${market} is no data market of ProtocolState ${contract}: ${MARKET_PARAMS.join(', ')} are all 0 for it`;
    return null;
  } catch (err) {
    if (reverted(err)) return `${market} is no data market of ProtocolState ${contract}: ${err.message}`;
    // viewUint refuses an empty answer: no contract at that address.
    if (err instanceof RejectedRpcAnswer && /empty answer/.test(err.message)) {
      throw new ConfigError([`PROTOCOL_STATE_CONTRACT: ${err.message}`]);
    }
    throw new Error(`cannot read the parameters of ${market} through RPC_NODES (start checks that it is a data market): ${err instanceof Error ? err.message : String(err)}`);
  }
}
