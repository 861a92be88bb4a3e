// Hardhat is used only for its JSON-RPC node (integration tests run
// `hardhat node` from node_modules); contracts are compiled by settlesim itself.
module.exports = {
  networks: {
    hardhat: {
      chainId: 31337,
      hardfork: "prague",
      mining: { auto: true },
      // behave like a production node: a failing transaction is mined with
      // status 0 (settlesim decodes the revert itself); failing calls still throw
      throwOnTransactionFailures: false,
      throwOnCallFailures: true,
    },
  },
  paths: { artifacts: "./artifacts-hardhat", cache: "./cache" },
};
