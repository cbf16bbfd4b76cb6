// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title TestProtocolState
/// @notice Test double of Powerloom's ProtocolState contract. It only reproduces
///         the event signatures, the per-market views the collector reads, and the
///         day roll-over rule of epoch release. No access control: tests drive it.
contract TestProtocolState {
    event EpochReleased(address indexed dataMarketAddress, uint256 indexed epochId, uint256 begin, uint256 end, uint256 timestamp);
    event SnapshotBatchSubmitted(address indexed dataMarketAddress, string batchCid, uint256 indexed epochId, uint256 timestamp);
    event DayStartedEvent(address indexed dataMarketAddress, uint256 dayId, uint256 timestamp);

    // Getter names must match the real contract's ABI exactly (DAY_SIZE included).
    mapping(address => uint256) public snapshotSubmissionWindow;
    mapping(address => uint256) public DAY_SIZE;
    mapping(address => uint256) public dailySnapshotQuota;
    mapping(address => uint256) public dayCounter;
    mapping(address => uint256) public epochsInADay;
    mapping(address => uint256) public currentEpochId;
    /// @notice slotSubmissionCount(dataMarket, slotId, dayId): the eligible submissions credited
    ///         to a slot on a day (read by the read API's /totalSubmissions fallback).
    mapping(address => mapping(uint256 => mapping(uint256 => uint256))) public slotSubmissionCount;

    function configureMarket(
        address dm,
        uint256 submissionWindow,
        uint256 daySize,
        uint256 quota,
        uint256 epochsPerDay
    ) external {
        snapshotSubmissionWindow[dm] = submissionWindow;
        DAY_SIZE[dm] = daySize;
        dailySnapshotQuota[dm] = quota;
        epochsInADay[dm] = epochsPerDay;
        if (dayCounter[dm] == 0) {
            dayCounter[dm] = 1;
        }
    }

    function setSnapshotSubmissionWindow(address dm, uint256 v) external { snapshotSubmissionWindow[dm] = v; }
    function setDaySize(address dm, uint256 v) external { DAY_SIZE[dm] = v; }
    function setDailySnapshotQuota(address dm, uint256 v) external { dailySnapshotQuota[dm] = v; }
    function setDayCounter(address dm, uint256 v) external { dayCounter[dm] = v; }
    function setEpochsInADay(address dm, uint256 v) external { epochsInADay[dm] = v; }
    function setSlotSubmissionCount(address dm, uint256 slotId, uint256 dayId, uint256 v) external { slotSubmissionCount[dm][slotId][dayId] = v; }

    function releaseEpoch(address dm, uint256 begin, uint256 end) external returns (uint256) {
        return _releaseEpoch(dm, begin, end);
    }

    /// @notice Emits EpochReleased for any epoch id without touching counters
    ///         (simulates a duplicate/replayed release).
    function reemitEpochReleased(address dm, uint256 epochId, uint256 begin, uint256 end) external {
        emit EpochReleased(dm, epochId, begin, end, block.timestamp);
    }

    function emitSnapshotBatchSubmitted(address dm, string calldata batchCid, uint256 epochId) external {
        emit SnapshotBatchSubmitted(dm, batchCid, epochId, block.timestamp);
    }

    /// @notice Releases `count` epochs in one tx. Callers must keep `count` small
    ///         enough to stay under the node's per-tx gas cap.
    function releaseMany(address dm, uint256 count) external {
        for (uint256 i = 0; i < count; i++) {
            uint256 next = currentEpochId[dm] + 1;
            _releaseEpoch(dm, next * 10, next * 10 + 9);
        }
    }

    function _releaseEpoch(address dm, uint256 begin, uint256 end) internal returns (uint256 epochId) {
        epochId = ++currentEpochId[dm];
        // Same day roll-over rule as the real contract: the first epoch of each
        // new day (ids 1 + k*epochsInADay, k >= 1) starts a new day, and
        // DayStartedEvent is emitted before that epoch's EpochReleased.
        uint256 perDay = epochsInADay[dm];
        if (perDay > 0 && epochId > 1 && epochId % perDay == 1) {
            dayCounter[dm]++;
            emit DayStartedEvent(dm, dayCounter[dm], block.timestamp);
        }
        emit EpochReleased(dm, epochId, begin, end, block.timestamp);
    }
}
