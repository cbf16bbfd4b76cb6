// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title TestDataMarket
/// @notice Test double of a Powerloom data market: its address identifies the
///         market; it only exposes the eligible-node count per day.
contract TestDataMarket {
    mapping(uint256 => uint256) public eligibleNodesForDay;

    function setEligibleNodesForDay(uint256 day, uint256 count) external {
        eligibleNodesForDay[day] = count;
    }
}
