// Minimal Hardhat 2 config for `hardhat node` in tests. `sources` points at a
// directory that does not exist so Hardhat never tries to download a compiler
// (contracts are compiled with the solc npm package in chain.ts instead).
// Automine stays on so every tx is mined immediately; interval mining adds
// empty blocks so the chain keeps advancing (SEQFLOW_HARDHAT_INTERVAL_MS,
// unset or 0 meaning 1000 ms).
module.exports = {
  paths: { sources: './no-sources-here' },
  networks: {
    hardhat: {
      chainId: 31337,
      allowBlocksWithSameTimestamp: true,
      mining: {
        auto: true,
        // `Number(x) || 1000`, not `Number(x || 1000)`: the string '0' is truthy.
        interval: Number(process.env.SEQFLOW_HARDHAT_INTERVAL_MS) || 1000,
      },
    },
  },
};
