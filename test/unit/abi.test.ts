import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Interface, id } from 'ethers';
import { dataMarketAbi, protocolState, protocolStateAbi, topics } from '../../src/chain/abi.js';

describe('ProtocolState topic hashes (upstream-collector.md §2.2)', () => {
  test('EpochReleased', () => {
    assert.equal(topics.EpochReleased, '0xf7d2257d4a1c445138ab52bd3c22425bfed29da81d0173961c697dc14fcba60c');
  });

  test('SnapshotBatchSubmitted', () => {
    assert.equal(topics.SnapshotBatchSubmitted, '0xcbd08c0021940d15cc732c670afbb27d5170795ee3a4ba0e47368452fae58c5d');
  });

  test('DayStartedEvent', () => {
    assert.equal(topics.DayStartedEvent, '0x9bf380fe36617cd5d995968abb4ae6d3657a763c126535d590b4503ff2542426');
  });

  test('not the DataMarket-contract variants (address-less)', () => {
    assert.notEqual(topics.EpochReleased, '0x108f87075a74f81fa2271fdf9fc0883a1811431182601fc65d24513970336640');
    assert.notEqual(topics.SnapshotBatchSubmitted, '0x3151fabdd1bacd216584de61e446f964f73b7864a351548f60ce030cb6242a0d');
  });

  test('keccak of the canonical signature text', () => {
    assert.equal(topics.EpochReleased, id('EpochReleased(address,uint256,uint256,uint256,uint256)'));
  });
});

describe('view selectors (neighbours.md §3.2)', () => {
  const expected: Array<[string, string]> = [
    ['snapshotSubmissionWindow', '0xf3354db0'],
    ['DAY_SIZE', '0x04a0a5bb'],
    ['dailySnapshotQuota', '0x095cb210'],
    ['dayCounter', '0x02143405'],
    ['epochsInADay', '0x0a1b7227'],
  ];
  for (const [name, selector] of expected) {
    test(`ProtocolState ${name} = ${selector}`, () => {
      assert.equal(protocolState.getFunction(name)!.selector, selector);
    });
  }

  test('DataMarket eligibleNodesForDay = 0x3b54c84e', () => {
    assert.equal(new Interface(dataMarketAbi).getFunction('eligibleNodesForDay')!.selector, '0x3b54c84e');
  });

  test('every view returns one uint256', () => {
    for (const fragment of protocolState.fragments) {
      if (fragment.type !== 'function') continue;
      const fn = protocolState.getFunction(fragment.format('sighash'))!;
      assert.equal(fn.stateMutability, 'view', fn.name);
      assert.deepEqual(
        fn.outputs.map((o) => o.type),
        ['uint256'],
        fn.name,
      );
    }
  });
});

/**
 * Facts read once from Powerloom's compiled ProtocolState and DataMarket ABIs (the contracts
 * deployed behind their proxies; the same hashes as upstream-collector.md §2.2): each fragment
 * seqflow uses, in ethers' minimal form (name, types, indexed flags, mutability, outputs), with
 * its topic hash or selector. Pinned here so that the suite needs nothing outside the repository.
 */
const REAL_PROTOCOL_STATE: Array<[minimal: string, hash: string]> = [
  ['event EpochReleased(address indexed,uint256 indexed,uint256,uint256,uint256)', '0xf7d2257d4a1c445138ab52bd3c22425bfed29da81d0173961c697dc14fcba60c'],
  ['event SnapshotBatchSubmitted(address indexed,string,uint256 indexed,uint256)', '0xcbd08c0021940d15cc732c670afbb27d5170795ee3a4ba0e47368452fae58c5d'],
  ['event DayStartedEvent(address indexed,uint256,uint256)', '0x9bf380fe36617cd5d995968abb4ae6d3657a763c126535d590b4503ff2542426'],
  ['function snapshotSubmissionWindow(address) view returns (uint256)', '0xf3354db0'],
  ['function DAY_SIZE(address) view returns (uint256)', '0x04a0a5bb'],
  ['function dailySnapshotQuota(address) view returns (uint256)', '0x095cb210'],
  ['function dayCounter(address) view returns (uint256)', '0x02143405'],
  ['function epochsInADay(address) view returns (uint256)', '0x0a1b7227'],
  ['function slotSubmissionCount(address,uint256,uint256) view returns (uint256)', '0x7f9ee950'],
];
const REAL_DATA_MARKET: Array<[minimal: string, selector: string]> = [['function eligibleNodesForDay(uint256) view returns (uint256)', '0x3b54c84e']];

describe('src/chain/abi.ts against the real contracts', () => {
  test('ProtocolState: each event and view has the real signature, indexed flags, mutability, outputs and hash', () => {
    assert.deepEqual(
      protocolState.fragments.map((f) => {
        const fragment = f.type === 'event' ? protocolState.getEvent(f.format('sighash'))! : protocolState.getFunction(f.format('sighash'))!;
        return [fragment.format('minimal'), 'topicHash' in fragment ? fragment.topicHash : fragment.selector];
      }),
      REAL_PROTOCOL_STATE,
    );
  });

  test('no event is anonymous (topic 0 is the signature hash)', () => {
    protocolState.forEachEvent((e) => assert.equal(e.anonymous, false, e.name));
  });

  test('every entry of protocolStateAbi was parsed (none silently dropped)', () => {
    assert.equal(protocolState.fragments.length, protocolStateAbi.length);
  });

  test('DataMarket: eligibleNodesForDay has the real signature and selector', () => {
    const ours = new Interface(dataMarketAbi);
    assert.deepEqual(
      ours.fragments.map((f) => {
        const fn = ours.getFunction(f.format('sighash'))!;
        return [fn.format('minimal'), fn.selector];
      }),
      REAL_DATA_MARKET,
    );
  });
});
