// Test chain support: compiles the Solidity test doubles with the solc npm
// package (no compiler download), runs a `hardhat node` child process on a free
// loopback port, and deploys/drives the test contracts through ethers.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ethers } from 'ethers';
import solc from 'solc';
import type { ChainClient } from '../../src/chain/rpc.js';
import { freePort, spawnService } from './process.js';

const SUPPORT_DIR = fileURLToPath(new URL('.', import.meta.url));
const CONTRACTS_DIR = path.resolve(SUPPORT_DIR, '../contracts');
const PROJECT_ROOT = path.resolve(SUPPORT_DIR, '../..');
const HARDHAT_BIN = path.join(PROJECT_ROOT, 'node_modules/.bin/hardhat');
const HARDHAT_CONFIG = path.join(SUPPORT_DIR, 'hardhat.config.cjs');

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
    cwd: SUPPORT_DIR,
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
  signer: ethers.Signer;
  protocolState: ethers.Contract;
  protocolStateAddress: string;
  /** Data market addresses (EIP-55 checksummed). */
  markets: string[];
  /** Releases the market's next epoch and returns where it landed. */
  releaseEpoch(market: string): Promise<{ epochId: number; blockNumber: number; blockHash: string }>;
  /** Emits EpochReleased again for an existing epoch id (simulated duplicate). */
  reemitEpochReleased(market: string, epochId: number): Promise<{ blockNumber: number; blockHash: string }>;
  /** Mines `blocks` empty blocks at once (hardhat_mine). */
  mine(blocks: number): Promise<void>;
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

const ZERO_HASH = `0x${'00'.repeat(32)}`;

/**
 * Hardhat quirk: most blocks made by one `hardhat_mine` call are "reserved" blocks whose
 * `parentHash` is all zeros (Hardhat 2.29 / EDR), which no real chain does and which the
 * follower rightly takes for a broken hash chain. This wraps `chain.headersOf` to fill such a
 * parentHash with the node's hash of the block before, i.e. what a real node would answer;
 * every other header passes through untouched, so real reorgs still show.
 */
export function repairReservedParents(chain: ChainClient): { count(): number } {
  let repaired = 0;
  const headersOf = chain.headersOf.bind(chain);
  chain.headersOf = async (numbers) => {
    const headers = await headersOf(numbers);
    const hashes = new Map(headers.map((h) => [h.number, h.hash]));
    const broken = headers.filter((h) => h.parentHash === ZERO_HASH && h.number > 0);
    const unknown = broken.map((h) => h.number - 1).filter((n) => !hashes.has(n));
    for (const h of unknown.length ? await headersOf(unknown) : []) hashes.set(h.number, h.hash);
    repaired += broken.length;
    return headers.map((h) => (h.parentHash === ZERO_HASH && h.number > 0 ? { ...h, parentHash: hashes.get(h.number - 1)! } : h));
  };
  return { count: () => repaired };
}
