// Test chain support: compiles the Solidity test doubles with the solc npm
// package (no compiler download), runs a `hardhat node` child process on a free
// loopback port, and deploys/drives the test contracts through ethers.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ethers } from 'ethers';
import solc from 'solc';
import { freePort, spawnService } from './process.js';

const DEVSTACK_DIR = fileURLToPath(new URL('.', import.meta.url));
const CONTRACTS_DIR = path.resolve(DEVSTACK_DIR, '../test/contracts');
const PROJECT_ROOT = path.resolve(DEVSTACK_DIR, '..');
const HARDHAT_BIN = path.join(PROJECT_ROOT, 'node_modules/.bin/hardhat');
const HARDHAT_CONFIG = path.join(DEVSTACK_DIR, 'hardhat.config.cjs');

// ---------------------------------------------------------------------------
// Compilation
// ---------------------------------------------------------------------------

export interface CompiledContract {
  abi: ethers.InterfaceAbi;
  bytecode: string;
}

export interface TestContracts {
  protocolState: CompiledContract;
  dataMarket: CompiledContract;
}

interface SolcError {
  severity: string;
  formattedMessage?: string;
  message: string;
}

interface SolcOutput {
  errors?: SolcError[];
  contracts?: Record<string, Record<string, { abi: ethers.InterfaceAbi; evm: { bytecode: { object: string } } }>>;
}

let compiled: TestContracts | undefined;

/** Compiles both test contracts once per process (solc-js takes a few seconds). */
export function compileTestContracts(): TestContracts {
  if (compiled) return compiled;
  const files = ['TestProtocolState.sol', 'TestDataMarket.sol'];
  const input = {
    language: 'Solidity',
    sources: Object.fromEntries(
      files.map((f) => [f, { content: fs.readFileSync(path.join(CONTRACTS_DIR, f), 'utf8') }]),
    ),
    settings: {
      optimizer: { enabled: true, runs: 200 },
      // 'paris' avoids PUSH0 etc.; any node/EVM we run against supports it.
      evmVersion: 'paris',
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input)) as string) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length > 0) {
    throw new Error(
      `solc compilation of test contracts failed:\n${errors.map((e) => e.formattedMessage ?? e.message).join('\n')}`,
    );
  }
  const pick = (file: string, name: string): CompiledContract => {
    const c = output.contracts?.[file]?.[name];
    if (!c) throw new Error(`solc output has no contract ${file}:${name}`);
    return { abi: c.abi, bytecode: '0x' + c.evm.bytecode.object };
  };
  compiled = {
    protocolState: pick('TestProtocolState.sol', 'TestProtocolState'),
    dataMarket: pick('TestDataMarket.sol', 'TestDataMarket'),
  };
  return compiled;
}

// ---------------------------------------------------------------------------
// Hardhat node process
// ---------------------------------------------------------------------------

export interface HardhatNode {
  url: string;
  port: number;
  /** The node's stdout/stderr: it logs every RPC call. */
  logPath: string;
  stop(): Promise<void>;
}

async function rpcAnswers(url: string): Promise<boolean> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] }),
    signal: AbortSignal.timeout(1000),
  });
  const body = (await res.json()) as { result?: unknown };
  return typeof body.result === 'string';
}

/**
 * Starts `hardhat node` on a free 127.0.0.1 port and waits until it answers JSON-RPC.
 * `intervalMs` is the interval-mining period (automine stays on). Spawned directly, not via
 * npx, so the PID we kill is the node itself.
 */
export async function startHardhatNode(opts: { intervalMs?: number } = {}): Promise<HardhatNode> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const node = await spawnService({
    name: 'hardhat',
    command: HARDHAT_BIN,
    args: ['--config', HARDHAT_CONFIG, 'node', '--hostname', '127.0.0.1', '--port', String(port)],
    cwd: DEVSTACK_DIR,
    env: { ...process.env, HARDHAT_DISABLE_TELEMETRY_PROMPT: 'true', SEQFLOW_HARDHAT_INTERVAL_MS: String(opts.intervalMs ?? 0) },
    ready: () => rpcAnswers(url),
  });
  return { url, port, logPath: node.logPath, stop: () => node.stop() };
}

// ---------------------------------------------------------------------------
// Deployment and chain helpers
// ---------------------------------------------------------------------------

export interface MarketParams {
  submissionWindow: number;
  daySize: number;
  quota: number;
  epochsInADay: number;
}

export const DEFAULT_MARKET_PARAMS: MarketParams = {
  submissionWindow: 4,
  daySize: 864000000,
  quota: 2,
  epochsInADay: 720,
};

export interface TestChain {
  provider: ethers.JsonRpcProvider;
  signer: ethers.NonceManager;
  protocolState: ethers.Contract;
  protocolStateAddress: string;
  /** Data market addresses (EIP-55 checksummed). */
  markets: string[];
  /** Releases the market's next epoch and returns where it landed. */
  releaseEpoch(market: string): Promise<{ epochId: number; blockNumber: number; blockHash: string }>;
  /** Emits EpochReleased again for an existing epoch id (simulated duplicate). */
  reemitEpochReleased(market: string, epochId: number): Promise<{ blockNumber: number; blockHash: string }>;
  /** Mines `blocks` empty blocks at once (hardhat_mine: most have a zero parentHash, see rpc-proxy.ts). */
  mine(blocks: number): Promise<void>;
  /** Mines `blocks` regular blocks one by one (evm_mine, in one JSON-RPC batch): real parent hashes. */
  mineRegular(blocks: number): Promise<void>;
  /** evm_snapshot: the chain as it is now, to revert to (a reorg: blocks after it are replaced). */
  snapshot(): Promise<string>;
  /** evm_revert to a snapshot; the sender's nonces follow the chain back. */
  revert(snapshot: string): Promise<void>;
  /** Releases `count` epochs of the market in one transaction (one block). */
  releaseMany(market: string, count: number): Promise<{ epochIds: number[]; blockNumber: number; blockHash: string }>;
  /** Current head, uncached (provider.getBlockNumber() caches). */
  blockNumber(): Promise<number>;
  /** Lower-case 0x hash of block `n`. */
  blockHash(n: number): Promise<string>;
}

/**
 * Deploys one TestProtocolState and `marketCount` TestDataMarket contracts and
 * configures every market. Transactions are sent one at a time and each receipt
 * awaited, so the node-assigned nonces never collide.
 */
export async function deployTestContracts(
  url: string,
  marketCount: number,
  params: Partial<MarketParams> = {},
): Promise<TestChain> {
  const p: MarketParams = { ...DEFAULT_MARKET_PARAMS, ...params };
  const { protocolState: psArt, dataMarket: dmArt } = compileTestContracts();
  const provider = new ethers.JsonRpcProvider(url, undefined, { staticNetwork: true, pollingInterval: 200 });
  // A fresh funded deployer per chain: contract addresses, and so market workflow IDs, differ
  // between test files that share one Temporal server.
  const wallet = ethers.Wallet.createRandom().connect(provider);
  await provider.send('hardhat_setBalance', [wallet.address, ethers.toQuantity(ethers.parseEther('1000'))]);
  // Counts nonces locally: the node's 'pending' count lags behind under interval mining.
  const signer = new ethers.NonceManager(wallet);

  const psDeployed = await new ethers.ContractFactory(psArt.abi, psArt.bytecode, signer).deploy();
  await psDeployed.waitForDeployment();
  const protocolStateAddress = ethers.getAddress(await psDeployed.getAddress());
  const protocolState = new ethers.Contract(protocolStateAddress, psArt.abi, signer);

  const markets: string[] = [];
  const dmFactory = new ethers.ContractFactory(dmArt.abi, dmArt.bytecode, signer);
  for (let i = 0; i < marketCount; i++) {
    const dm = await dmFactory.deploy();
    await dm.waitForDeployment();
    markets.push(ethers.getAddress(await dm.getAddress()));
  }
  for (const dm of markets) {
    await sendAndWait(
      protocolState.getFunction('configureMarket')(dm, p.submissionWindow, p.daySize, p.quota, p.epochsInADay),
    );
  }

  const iface = protocolState.interface;
  const blockHash = async (n: number): Promise<string> => {
    const block = (await provider.send('eth_getBlockByNumber', [ethers.toQuantity(n), false])) as {
      hash: string;
    } | null;
    if (!block) throw new Error(`block ${n} not found`);
    return block.hash.toLowerCase();
  };

  return {
    provider,
    signer,
    protocolState,
    protocolStateAddress,
    markets,
    async releaseEpoch(market) {
      const next = Number(await protocolState.getFunction('currentEpochId')(market)) + 1;
      const receipt = await sendAndWait(protocolState.getFunction('releaseEpoch')(market, next * 10, next * 10 + 9));
      const released = receipt.logs
        .map((l) => iface.parseLog(l))
        .find((e) => e?.name === 'EpochReleased');
      if (!released) throw new Error(`releaseEpoch tx ${receipt.hash} has no EpochReleased log`);
      return {
        epochId: Number(released.args.getValue('epochId')),
        blockNumber: receipt.blockNumber,
        blockHash: receipt.blockHash.toLowerCase(),
      };
    },
    async reemitEpochReleased(market, epochId) {
      const receipt = await sendAndWait(
        protocolState.getFunction('reemitEpochReleased')(market, epochId, epochId * 10, epochId * 10 + 9),
      );
      return { blockNumber: receipt.blockNumber, blockHash: receipt.blockHash.toLowerCase() };
    },
    async mine(blocks) {
      await provider.send('hardhat_mine', [ethers.toQuantity(blocks)]);
    },
    async mineRegular(blocks) {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(Array.from({ length: blocks }, (_, id) => ({ jsonrpc: '2.0', id, method: 'evm_mine', params: [] }))),
      });
      const answers = (await res.json()) as Array<{ error?: unknown }>;
      if (answers.length !== blocks || answers.some((a) => a.error)) throw new Error(`evm_mine x${blocks} failed: ${JSON.stringify(answers.find((a) => a.error))}`);
    },
    async snapshot() {
      return (await provider.send('evm_snapshot', [])) as string;
    },
    async revert(snapshot) {
      if ((await provider.send('evm_revert', [snapshot])) !== true) throw new Error(`evm_revert ${snapshot} failed`);
      signer.reset();
    },
    async releaseMany(market, count) {
      const receipt = await sendAndWait(protocolState.getFunction('releaseMany')(market, count));
      const epochIds = receipt.logs
        .map((l) => iface.parseLog(l))
        .filter((e) => e?.name === 'EpochReleased')
        .map((e) => Number(e!.args.getValue('epochId')));
      return { epochIds, blockNumber: receipt.blockNumber, blockHash: receipt.blockHash.toLowerCase() };
    },
    async blockNumber() {
      return Number(await provider.send('eth_blockNumber', []));
    },
    blockHash,
  };
}

/** Awaits a sent contract call and its receipt; throws if it reverted or vanished. */
async function sendAndWait(sent: Promise<ethers.ContractTransactionResponse>): Promise<ethers.ContractTransactionReceipt> {
  const tx = await sent;
  const receipt = await tx.wait();
  if (!receipt) throw new Error(`tx ${tx.hash} has no receipt`);
  return receipt;
}
