/**
 * The ProtocolState events and views seqflow reads, with the exact signatures of Powerloom's
 * contract (upstream-collector.md §2.2–2.3, §8): the topic hashes follow from them.
 */
import { Interface } from 'ethers';

export const protocolStateAbi = [
  'event EpochReleased(address indexed dataMarketAddress, uint256 indexed epochId, uint256 begin, uint256 end, uint256 timestamp)',
  'event SnapshotBatchSubmitted(address indexed dataMarketAddress, string batchCid, uint256 indexed epochId, uint256 timestamp)',
  'event DayStartedEvent(address indexed dataMarketAddress, uint256 dayId, uint256 timestamp)',
  'function snapshotSubmissionWindow(address dataMarket) view returns (uint256)',
  'function DAY_SIZE(address dataMarket) view returns (uint256)',
  'function dailySnapshotQuota(address dataMarket) view returns (uint256)',
  'function dayCounter(address dataMarket) view returns (uint256)',
  'function epochsInADay(address dataMarket) view returns (uint256)',
  // Read by the read API's /totalSubmissions when Redis has no eligible count (upstream's ABI).
  'function slotSubmissionCount(address dataMarket, uint256 slotId, uint256 dayId) view returns (uint256)',
] as const;

export const dataMarketAbi = ['function eligibleNodesForDay(uint256 day) view returns (uint256)'] as const;

export const protocolState = new Interface(protocolStateAbi);
export const dataMarket = new Interface(dataMarketAbi);

export const topics = {
  EpochReleased: protocolState.getEvent('EpochReleased')!.topicHash,
  SnapshotBatchSubmitted: protocolState.getEvent('SnapshotBatchSubmitted')!.topicHash,
  DayStartedEvent: protocolState.getEvent('DayStartedEvent')!.topicHash,
} as const;
