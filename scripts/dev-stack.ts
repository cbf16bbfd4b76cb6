/**
 * `npm run dev`: seqflow on a local stack built from the same parts as the e2e tests: the
 * Temporal dev server with its Web UI, redis-server, a Hardhat chain with our ProtocolState
 * test contract, a relayer stand-in and the seqflow worker. Demo traffic: every few seconds
 * each market releases an epoch and a few snapshotters file submissions as the dequeuer does.
 */
import { seqflowJson } from '../devstack/cli.js';
import { fileSubmission } from '../devstack/dequeuer.js';
import { startStack } from '../devstack/stack.js';

const EPOCH_EVERY_MS = 15_000;
const uiPort = Number(process.env.SEQFLOW_UI_PORT) || 8233;
const stack = await startStack({ markets: 2, params: { submissionWindow: 10 }, batchSize: 2, temporalUiPort: uiPort, miningIntervalMs: 1000 });
const worker = await stack.startWorker();
await seqflowJson(['start'], stack.env);

const exported = ['TEMPORAL_ADDRESS', 'TEMPORAL_TASK_QUEUE', 'DATA_MARKET_ADDRESSES'].map((k) => `${k}='${stack.env[k]}'`).join(' ');
// The Web UI's workflow list filtered by a visibility query (README: "Finding runs in the Temporal Web UI").
const failedEpochs = `MarketAddress IN (${stack.chain.markets.map((m) => `"${m}"`).join(', ')}) AND SeqflowStatus = "failed"`;
console.log(`
seqflow is running on a local stack.
  Temporal Web UI:  http://127.0.0.1:${uiPort}   (workflows market/<address>, market/<address>/epoch/<n>)
  failed epochs:    http://127.0.0.1:${uiPort}/namespaces/default/workflows?query=${encodeURIComponent(failedEpochs)}
  Temporal:         ${stack.temporal.address}
  chain (Hardhat):  ${stack.node.url}   ProtocolState ${stack.chain.protocolStateAddress}
  Redis:            127.0.0.1:${stack.redis.port}   (LRANGE finalizerQueue 0 -1)
  relayer stand-in: ${stack.relayer.url}
  worker log:       ${worker.logPath}
  markets:          ${stack.chain.markets.join(', ')}

Try the CLI in another shell:
  ${exported} npx seqflow status

An epoch per market every ${EPOCH_EVERY_MS / 1000} s. Ctrl-C stops everything.
`);

let stopping = false;
async function releaseEpochs(): Promise<void> {
  for (const market of stack.chain.markets) {
    const rel = await stack.chain.releaseEpoch(market);
    for (let slot = 1; slot <= 3; slot++) {
      for (const project of ['pairContract_trade_volume:0xabc:UNISWAPV2', 'aggregate_24h_top_pairs:0xdef:UNISWAPV2']) {
        await fileSubmission(stack.redis.client, { market, epochId: rel.epochId, projectId: project, slotId: slot, header: rel.blockHash });
      }
    }
    console.log(`released epoch ${rel.epochId} of ${market} at block ${rel.blockNumber}; 6 submissions filed`);
  }
}
const releaseNow = () => {
  if (!stopping) releaseEpochs().catch((err: unknown) => console.error('demo traffic:', err));
};
releaseNow();
const timer = setInterval(releaseNow, EPOCH_EVERY_MS);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    stopping = true;
    clearInterval(timer);
    console.log('stopping the local stack…');
    stack.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
}
