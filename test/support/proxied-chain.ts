/**
 * The set-up of the follower and epoch-window activity tests: a Hardhat node with our test
 * contracts, mining only when a test asks (interval mining off), seen through the fault-injecting
 * JSON-RPC proxy, and a Redis server.
 */
import { deployTestContracts, startHardhatNode, type HardhatNode, type MarketParams, type TestChain } from '../../devstack/chain.js';
import { startRedis, type RedisServer } from '../../devstack/redis.js';
import { startRpcProxy, type RpcProxy } from '../../devstack/rpc-proxy.js';

export interface ProxiedChain {
  node: HardhatNode;
  redis: RedisServer;
  /** What the activities under test talk to: `proxy.url`. */
  proxy: RpcProxy;
  chain: TestChain;
  stop(): Promise<void>;
}

/** Starts it with `markets` data markets; whatever started is stopped again if the rest fails. */
export async function startProxiedChain(markets: number, params?: Partial<MarketParams>): Promise<ProxiedChain> {
  const [node, redis] = await Promise.allSettled([startHardhatNode({ intervalMs: 0 }), startRedis()]);
  let chain: TestChain | undefined;
  let proxy: RpcProxy | undefined;
  try {
    if (node.status === 'rejected') throw node.reason;
    if (redis.status === 'rejected') throw redis.reason;
    [chain, proxy] = await Promise.all([deployTestContracts(node.value.url, markets, params), startRpcProxy(node.value.url)]);
    await chain.provider.send('evm_setIntervalMining', [0]);
  } catch (err) {
    chain?.provider.destroy();
    await Promise.all([proxy?.stop(), node.status === 'fulfilled' ? node.value.stop() : undefined, redis.status === 'fulfilled' ? redis.value.stop() : undefined]);
    throw err;
  }
  const started = { node: node.value, redis: redis.value, proxy, chain };
  return {
    ...started,
    async stop() {
      started.chain.provider.destroy();
      await Promise.all([started.proxy.stop(), started.node.stop(), started.redis.stop()]);
    },
  };
}

/** Whether an eth_getLogs request (by range or by block hash) is for `block`. */
export const coversBlock = (block: { blockNumber: number; blockHash: string }) => (params: unknown[]) => {
  const filter = params[0] as { fromBlock?: string; toBlock?: string; blockHash?: string };
  if (filter.blockHash !== undefined) return filter.blockHash.toLowerCase() === block.blockHash;
  return Number(filter.fromBlock) <= block.blockNumber && block.blockNumber <= Number(filter.toBlock);
};
