/**
 * Batch preparation of one epoch with 10k and 100k submissions over 20 headers: seqflow's
 * prepareBatches (pipelined reads, atomic Lua writes) against the upstream pattern (one
 * SMEMBERS per header, one INCR per key, one SET per batch, each a round trip); and the
 * finalizer pushes of those batches (exactly-once Lua) against one LPUSH per batch.
 *
 * How long Redis is held (issue 9, target 3): with every command logged (`slowlog-log-slower-than
 * 0`), the longest command or script seqflow's connection ran, and the upstream pattern's, from
 * `SLOWLOG GET`. (The slow log times each command on its own: what bounds a pipeline's
 * commands, run back to back, is the activities' own per-round-trip limit.)
 */
import { Redis } from 'ioredis';
import { createBatchActivities } from '../src/activities/batches.js';
import { ChainClient } from '../src/chain/rpc.js';
import * as keys from '../src/domain/keys.js';
import { AdaptiveRange } from '../src/follower/range.js';
import { runActivity } from '../test/support/activity-env.js';
import { deployTestContracts, startHardhatNode } from '../devstack/chain.js';
import { startRedis } from '../devstack/redis.js';
import { quantile, redisCommands, type Report } from './report.js';

const HEADERS = 20;
const PROJECTS_PER_SLOT_SET = 10;
const BATCH_SIZE = 50;

/** Files `n` submission keys of `market` for `epochId`, spread over HEADERS block hashes. */
async function seedEpoch(redis: Redis, market: string, epochId: string, n: number, firstBlock: number): Promise<void> {
  const hashes = Array.from({ length: HEADERS }, (_, i) => `0x${(firstBlock + i).toString(16).padStart(64, '0')}`);
  const pipeline = redis.pipeline();
  hashes.forEach((hash, i) => pipeline.set(keys.blockHashByNumber(firstBlock + i), hash, 'EX', 3600));
  for (let i = 0; i < n; i++) {
    const project = `pairContract_trade_volume:0x${Math.floor(i / PROJECTS_PER_SLOT_SET).toString(16).padStart(40, '0')}:UNISWAPV2`;
    const key = `${market}.${epochId}.${project}.${(i % PROJECTS_PER_SLOT_SET) + 1}`;
    pipeline.sadd(keys.snapshotCollector(market, epochId, hashes[i % HEADERS]!), key);
  }
  await pipeline.exec();
}

/** The upstream collector's Redis traffic for one epoch, round trip by round trip (§5 and §6.1). */
async function upstreamPattern(redis: Redis, market: string, epochId: string, firstBlock: number): Promise<number> {
  let roundTrips = 0; // every await below is one
  const collected: string[] = [];
  for (let b = firstBlock; b < firstBlock + HEADERS; b++) {
    const hash = await redis.get(keys.blockHashByNumber(b));
    collected.push(...(await redis.smembers(keys.snapshotCollector(market, epochId, hash!))));
    roundTrips += 2;
  }
  const byProject = new Map<string, string[]>();
  for (const key of collected) {
    const [, , projectId, slotId] = key.split('.');
    await redis.incr(`upstream:SlotSubmissionsKey.${market}.1.${slotId}`);
    roundTrips++;
    byProject.set(projectId!, [...(byProject.get(projectId!) ?? []), key]);
  }
  const projects = [...byProject.keys()];
  let batchId = 0;
  for (let i = 0; i < projects.length; i += BATCH_SIZE) {
    const batch = Object.fromEntries(projects.slice(i, i + BATCH_SIZE).map((p) => [p, byProject.get(p)!]));
    await redis.set(`upstream:BatchSubmissionsKey.${market}.${epochId}.${++batchId}`, JSON.stringify(batch), 'EX', 300);
    await redis.lpush('upstream:finalizerQueue', JSON.stringify({ DataMarketAddress: market, EpochID: Number(epochId), BatchID: batchId, Batch: batch }));
    roundTrips += 2;
  }
  await redis.set(`upstream:BatchCountKey.${market}.${epochId}`, String(batchId), 'EX', 86400);
  return roundTrips + 1;
}

/**
 * A client's longest slow log entry: microseconds and what it ran (a script by its first line);
 * and the spread of all its commands' times, to tell a long command from one the OS preempted.
 */
interface Longest {
  us: number;
  command: string;
  commands: number;
  p50Us: number;
  p99Us: number;
  overOneMs: number;
}

/** Logs every command from now on, the slow log emptied. */
async function logEveryCommand(admin: Redis): Promise<void> {
  await admin.config('SET', 'slowlog-log-slower-than', '0');
  await admin.config('SET', 'slowlog-max-len', '1000000');
  await admin.slowlog('RESET');
}

/**
 * The longest command the connection named `client` ran since the slow log was emptied, and how
 * many it ran. (A script's own commands are logged under no client name: its entry's time
 * includes them.)
 */
async function longestCommand(admin: Redis, client: string): Promise<Longest> {
  const entries = (await admin.slowlog('GET', '-1')) as Array<[number, number, number, string[], string, string]>;
  await admin.slowlog('RESET');
  const times: number[] = [];
  let longest = { us: 0, command: 'none' };
  for (const [, , us, args, , name] of entries) {
    if (name !== client) continue;
    times.push(us);
    if (us <= longest.us) continue;
    const [command = '', script = '', keyCount = ''] = args;
    const scripted = /^eval(sha)?$/i.test(command);
    longest = { us, command: scripted ? `${command} ${/^--\s*(.*)/.exec(script.trimStart())?.[1] ?? 'script'} (${keyCount} keys)` : command };
  }
  times.sort((x, y) => x - y);
  return { ...longest, commands: times.length, p50Us: quantile(times, 0.5), p99Us: quantile(times, 0.99), overOneMs: times.filter((us) => us > 1000).length };
}

/** Runs `phase` with every command logged: the longest command of the connection named `client`. */
async function longestDuring(admin: Redis, client: string, phase: () => Promise<void>): Promise<Longest> {
  await logEveryCommand(admin);
  await phase();
  return longestCommand(admin, client);
}

export async function benchBatches(report: Report): Promise<void> {
  const [redis, node] = await Promise.all([startRedis(), startHardhatNode({ intervalMs: 0 })]);
  // Named connections, so that the slow log tells seqflow's commands from the upstream pattern's and the bench's own.
  const connect = (connectionName: string) => new Redis({ port: redis.port, host: '127.0.0.1', connectionName });
  const [seqflowRedis, upstreamRedis] = [connect('seqflow'), connect('upstream')];
  const admin = redis.client;
  try {
    const testChain = await deployTestContracts(node.url, 1);
    await testChain.provider.send('evm_setIntervalMining', [0]);
    const market = testChain.markets[0]!;
    const chain = new ChainClient([node.url]);
    const window = { contract: testChain.protocolStateAddress, confirmations: 2, maxReorgDepth: 64, closeWaitMs: 30_000, pollIntervalMs: 100 };
    const batches = createBatchActivities({ chain, redis: seqflowRedis, batchSize: BATCH_SIZE, window, range: new AdaptiveRange(2000) });

    for (const [n, epochId] of [[10_000, '1'], [100_000, '2']] as const) {
      const m = market.toLowerCase();
      const firstBlock = 1_000_000 * Number(epochId);
      await seedEpoch(admin, m, epochId, n, firstBlock);
      let batchCount = 0;
      const commandsDuring = async (run: () => Promise<string>) => {
        const before = await redisCommands(admin);
        const note = await run();
        return { requests: (await redisCommands(admin)) - before - 1, note };
      };
      const seqflow = await longestDuring(admin, 'seqflow', async () => {
        await report.measure(`prepareBatches, ${n / 1000}k submissions`, () =>
          commandsDuring(async () => {
            const result = await runActivity(batches.prepareBatches, { market, epochId, fromBlock: firstBlock, toBlock: firstBlock + HEADERS - 1, day: '1' });
            batchCount = result.batchCount;
            return `${result.submissionCount} keys, ${result.batchCount} batches`;
          }),
        );
        await report.measure(`pushBatchesToFinalizer, ${n / 1000}k submissions`, () =>
          commandsDuring(async () => `${(await runActivity(batches.pushBatchesToFinalizer, { market, epochId, batchCount })).pushedNow} messages`),
        );
      });
      const upstream = await longestDuring(admin, 'upstream', () =>
        report.measure(`upstream pattern (prepare + push), ${n / 1000}k submissions`, () =>
          commandsDuring(async () => `${await upstreamPattern(upstreamRedis, m, epochId, firstBlock)} round trips`),
        ),
      );
      for (const [who, held] of [['seqflow prepare + push', seqflow], ['upstream pattern', upstream]] as const) {
        report.row({
          case: `longest Redis command, ${who}, ${n / 1000}k submissions`,
          ms: held.us / 1000,
          requests: held.commands,
          note: `${held.command}, ${held.us} µs; all its commands: p50 ${held.p50Us} µs, p99 ${held.p99Us} µs, ${held.overOneMs} over 1 ms`,
        });
      }
      if (n === 100_000) {
        report.target({
          id: '3',
          name: 'longest Redis command or script at 100k submissions',
          measured: seqflow.us / 1000,
          bound: 10,
          unit: 'ms',
          kind: 'max',
          upstream: upstream.us / 1000,
          note: `SLOWLOG; seqflow: ${seqflow.command} (p99 of its ${seqflow.commands} commands ${seqflow.p99Us} µs); upstream: ${upstream.command} (p99 ${upstream.p99Us} µs)`,
        });
      }
    }
    testChain.provider.destroy();
  } finally {
    seqflowRedis.disconnect();
    upstreamRedis.disconnect();
    await Promise.all([redis.stop(), node.stop()]);
  }
}
