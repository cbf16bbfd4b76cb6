// Sanity test of the test-chain support itself: the Solidity test doubles, the
// hardhat node wrapper and the deploy helpers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ethers } from 'ethers';
import {
  compileTestContracts,
  deployTestContracts,
  startHardhatNode,
  type HardhatNode,
  type TestChain,
} from '../../devstack/chain.js';

const PARAMS = { submissionWindow: 3, daySize: 1234, quota: 5, epochsInADay: 4 };

let node: HardhatNode | undefined;
let chain: TestChain;

before(async () => {
  compileTestContracts();
  node = await startHardhatNode();
  chain = await deployTestContracts(node.url, 2, PARAMS);
});

after(async () => {
  chain?.provider.destroy();
  await node?.stop();
});

test('event topic hashes match the real ProtocolState contract', () => {
  const iface = new ethers.Interface(compileTestContracts().protocolState.abi);
  const topic = (name: string): string => {
    const ev = iface.getEvent(name);
    assert.ok(ev, `event ${name} missing from ABI`);
    return ev.topicHash;
  };
  assert.equal(topic('EpochReleased'), '0xf7d2257d4a1c445138ab52bd3c22425bfed29da81d0173961c697dc14fcba60c');
  assert.equal(topic('SnapshotBatchSubmitted'), '0xcbd08c0021940d15cc732c670afbb27d5170795ee3a4ba0e47368452fae58c5d');
  assert.equal(topic('DayStartedEvent'), '0x9bf380fe36617cd5d995968abb4ae6d3657a763c126535d590b4503ff2542426');
});

test('deploys two checksummed markets and the views return the configured params', async () => {
  assert.equal(chain.markets.length, 2);
  assert.notEqual(chain.markets[0], chain.markets[1]);
  for (const m of chain.markets) {
    assert.equal(m, ethers.getAddress(m));
    const view = async (name: string): Promise<number> => Number(await chain.protocolState.getFunction(name)(m));
    assert.equal(await view('snapshotSubmissionWindow'), PARAMS.submissionWindow);
    assert.equal(await view('DAY_SIZE'), PARAMS.daySize);
    assert.equal(await view('dailySnapshotQuota'), PARAMS.quota);
    assert.equal(await view('epochsInADay'), PARAMS.epochsInADay);
    assert.equal(await view('dayCounter'), 1);
    assert.equal(await view('currentEpochId'), 0);
  }
});

test('epoch 5 starts day 2 (DayStartedEvent before EpochReleased)', async () => {
  const market = chain.markets[0]!;
  const ps = chain.protocolState;
  for (let i = 1; i <= 4; i++) {
    const r = await chain.releaseEpoch(market);
    assert.equal(r.epochId, i);
    assert.equal(Number(await ps.getFunction('dayCounter')(market)), 1, `still day 1 after epoch ${i}`);
  }
  const r5 = await chain.releaseEpoch(market);
  assert.equal(r5.epochId, 5);
  assert.equal(Number(await ps.getFunction('dayCounter')(market)), 2);

  // Inspect the receipt's log order: DayStartedEvent must precede EpochReleased.
  const block = await chain.provider.send('eth_getBlockByNumber', [ethers.toQuantity(r5.blockNumber), false]);
  assert.equal(block.hash.toLowerCase(), r5.blockHash);
  assert.equal(block.transactions.length, 1);
  const receipt = await chain.provider.getTransactionReceipt(block.transactions[0]);
  assert.ok(receipt);
  const names = receipt.logs.map((l) => ps.interface.parseLog(l)?.name);
  assert.deepEqual(names, ['DayStartedEvent', 'EpochReleased']);
  const dayStarted = ps.interface.parseLog(receipt.logs[0]!)!;
  assert.equal(dayStarted.args.getValue('dataMarketAddress'), market);
  assert.equal(Number(dayStarted.args.getValue('dayId')), 2);

  // The other market is independent.
  assert.equal(Number(await ps.getFunction('currentEpochId')(chain.markets[1]!)), 0);
  assert.equal(Number(await ps.getFunction('dayCounter')(chain.markets[1]!)), 1);
});

test('reemitEpochReleased emits the same epoch id without touching counters', async () => {
  const market = chain.markets[1]!;
  const first = await chain.releaseEpoch(market);
  const dup = await chain.reemitEpochReleased(market, first.epochId);
  assert.ok(dup.blockNumber > first.blockNumber);
  assert.equal(await chain.blockHash(dup.blockNumber), dup.blockHash);

  const ps = chain.protocolState;
  const logs = await ps.queryFilter(ps.filters.EpochReleased!(market), first.blockNumber, dup.blockNumber);
  const ids = logs.map((l) => Number(ps.interface.parseLog(l)!.args.getValue('epochId')));
  assert.deepEqual(ids, [first.epochId, first.epochId]);
  assert.equal(Number(await ps.getFunction('currentEpochId')(market)), first.epochId);
});

test('emitSnapshotBatchSubmitted, mine and blockNumber', async () => {
  const market = chain.markets[0]!;
  const ps = chain.protocolState;
  const tx = await ps.getFunction('emitSnapshotBatchSubmitted')(market, 'bafy-test-cid', 5);
  const receipt = await tx.wait();
  const ev = ps.interface.parseLog(receipt.logs[0]);
  assert.equal(ev?.name, 'SnapshotBatchSubmitted');
  assert.equal(ev?.args.getValue('batchCid'), 'bafy-test-cid');
  assert.equal(Number(ev?.args.getValue('epochId')), 5);

  const before = await chain.blockNumber();
  await chain.mine(10);
  // Interval mining may add a block concurrently, hence >=.
  assert.ok((await chain.blockNumber()) >= before + 10);
  assert.match(await chain.blockHash(before), /^0x[0-9a-f]{64}$/);
});
