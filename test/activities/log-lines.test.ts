/**
 * The worker's one info line per reward update sent, on a real Redis and the relayer stand-in:
 * the chunks of an update go out at once (as the reward workflow sends them), and only the
 * chunk that completes the update logs it; a chunk sent again logs nothing.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createRewardActivities } from '../../src/activities/rewards.js';
import { ChainClient } from '../../src/chain/rpc.js';
import { startRedis, type RedisServer } from '../../devstack/redis.js';
import { startRelayer, type RelayerStandIn } from '../../devstack/relayer.js';
import { runActivity, startActivity } from '../support/activity-env.js';

const M = '0xAbCdEf0123456789aBcDeF0123456789AbCdEf01';
const m = M.toLowerCase();

let redis: RedisServer | undefined;
let relayer: RelayerStandIn | undefined;
let activities: ReturnType<typeof createRewardActivities>;

before(async () => {
  [redis, relayer] = await Promise.all([startRedis(), startRelayer('tok')]);
  activities = createRewardActivities({
    // A final update reads Redis only: no chain call is made.
    chain: new ChainClient(['http://127.0.0.1:9']),
    redis: redis.client,
    relayer: { url: relayer.url, authToken: 'tok', timeoutMs: 5000 },
    rewards: { batchSize: 2, epochInterval: 3, pastDaysBuffer: 3, concurrentUpdates: 4, dayTransitionBufferEpochs: 2 },
  });
});

after(async () => {
  await Promise.all([redis?.stop(), relayer?.stop()]);
});

test('one `reward update sent` line per update, from the chunk that completes it, whatever the order', async () => {
  const r = redis!.client;
  await r.sadd(`EligibleNodeByDayKey.${m}.7`, '1', '2', '3', '4', '5');
  await r.mset(...['1', '2', '3', '4', '5'].flatMap((s) => [`EligibleSlotSubmissionsKey.${m}.7.${s}`, String(10 + Number(s))]));
  const prepared = await runActivity(activities.prepareRewardUpdate, { market: M, day: '7', kind: 'final' });
  assert.equal(prepared.chunkCount, 3);

  const runs = [0, 1, 2].map((chunk) => startActivity(activities.sendRewardChunk, [{ market: M, day: '7', updateId: prepared.updateId, chunk }]));
  assert.deepEqual(await Promise.all(runs.map((run) => run.result)), [{ sentNow: true }, { sentNow: true }, { sentNow: true }]);
  const lines = runs.flatMap((run) => run.logs.filter((l) => l.message === 'reward update sent'));
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.level, 'INFO');
  const { market, day, updateId, slots, eligibleNodes, chunks } = lines[0]!.meta as Record<string, unknown>;
  assert.deepEqual({ market, day, updateId, slots, eligibleNodes, chunks }, { market: M, day: '7', updateId: 'final.7', slots: 5, eligibleNodes: 5, chunks: 3 });
  assert.equal(relayer!.accepted('/submitUpdateRewards').length, 3);

  // Sent before: nothing is sent, nothing logged.
  const again = startActivity(activities.sendRewardChunk, [{ market: M, day: '7', updateId: prepared.updateId, chunk: 2 }]);
  assert.deepEqual(await again.result, { sentNow: false });
  assert.deepEqual(again.logs.filter((l) => l.message === 'reward update sent'), []);
});
