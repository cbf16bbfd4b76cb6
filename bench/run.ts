/**
 * `npm run bench`: speed and memory on real services (redis-server, Hardhat nodes, the Temporal
 * dev server), each section starting its own. Prints every row and issue 9's targets side by
 * side and writes bench/results.json. Nothing is asserted: tests check behaviour, this measures.
 *
 *   npm run bench                        every section but the long ones
 *   npm run bench -- --only a,b          only those sections
 *   npm run bench -- --soak              adds the soak (not in CI)
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchBatches } from './batches.js';
import { benchEpochs, benchIdle, benchSoak } from './epochs.js';
import { benchFollower } from './follower.js';
import { Report, mib } from './report.js';
import { benchWorkers } from './workers.js';

type Section = (report: Report) => Promise<void>;

/** In the order they run; `long` ones only when asked for. */
const SECTIONS: Array<{ name: string; run: Section; long?: boolean }> = [
  { name: 'batches', run: benchBatches },
  { name: 'follower', run: benchFollower },
  { name: 'epochs', run: benchEpochs },
  { name: 'idle', run: benchIdle },
  { name: 'soak', run: benchSoak, long: true },
  { name: 'workers', run: benchWorkers, long: true },
];

const args = process.argv.slice(2);
const only = args.includes('--only') ? new Set(args[args.indexOf('--only') + 1]?.split(',')) : null;
const unknown = [...(only ?? [])].filter((name) => !SECTIONS.some((s) => s.name === name));
if (unknown.length > 0) {
  console.error(`unknown section(s): ${unknown.join(', ')}; sections: ${SECTIONS.map((s) => s.name).join(', ')}`);
  process.exit(2);
}
// Stopped by a signal, the bench exits, and so kills the services and workers it started (spawnService
// kills them on exit; a signal's default action would leave them running).
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => process.exit(128 + os.constants.signals[signal]));
const report = new Report();
for (const section of SECTIONS) {
  if (only ? !only.has(section.name) : section.long && !args.includes(`--${section.name}`)) continue;
  report.begin(section.name);
  await section.run(report);
}
report.begin('end');
report.row({ case: 'bench process RSS at the end', ms: 0, note: `${mib(process.memoryUsage().rss)} MiB` });
report.print();
report.write(path.join(path.dirname(fileURLToPath(import.meta.url)), 'results.json'), args);
