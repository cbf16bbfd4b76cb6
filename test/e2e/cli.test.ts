/**
 * The CLI and the worker's log as a newcomer meets them, on a real stack (Temporal dev server,
 * Redis, Hardhat, relayer stand-in, worker processes): `status --watch` in a real terminal
 * (tmux) and through a pipe, `status | head`, updates with no worker to answer them, `start` of
 * an address that is no market, a stopped market's state, `--help`, and the worker's one log
 * line per epoch batched and per reward update sent.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { seqflow, seqflowJson } from '../../devstack/cli.js';
import { fileSubmission } from '../../devstack/dequeuer.js';
import { epochOutcome, marketStatus } from '../support/epochs.js';
import { waitFor, type ServiceProcess } from '../../devstack/process.js';
import { startStack, type Stack } from '../../devstack/stack.js';
import { PROJECT_ROOT, TEMPORAL_CLI } from '../../devstack/temporal.js';
import type { periodicRewardsWorkflow } from '../../src/workflows/rewards.js';

const run = promisify(execFile);
const CLI = path.join(PROJECT_ROOT, 'bin/seqflow.js');

let stack: Stack;
let worker: ServiceProcess;
/** A second worker, on a task queue of its own, to be killed; it starts while the first tests run. */
let doomed: Promise<ServiceProcess>;
const doomedQueue = `seqflow-doomed-${randomUUID()}`;
let A: string;
let B: string;
let C: string;

before(async () => {
  stack = await startStack({ markets: 3, params: { submissionWindow: 2 }, batchSize: 2 });
  [A, B, C] = stack.chain.markets as [string, string, string];
  await stack.redis.client.set('TotalNodesCount', '3');
  worker = await stack.startWorker({ REWARDS_UPDATE_EPOCH_INTERVAL: '1' });
  doomed = stack.startWorker({ TEMPORAL_TASK_QUEUE: doomedQueue });
  assert.equal((await seqflowJson(['start', A], stack.env))[0]!.result, 'started');
  await waitFor('A following', async () => (await marketStatus(stack.temporal.client, A)).cursor);
});

after(async () => {
  // A worker still starting is not one the stack stops (a run of some tests only).
  await doomed?.catch(() => undefined);
  await stack?.stop();
});

/** The worker's JSON log lines with message `msg`. */
function logLines(msg: string): Array<Record<string, unknown>> {
  return worker
    .log()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.msg === msg);
}

test('the worker logs one info line per epoch batched and one per reward update sent', async () => {
  const client = stack.temporal.client;
  const a = A.toLowerCase();
  await stack.redis.client.mset(`EligibleSlotSubmissionsKey.${a}.1.1`, '5', `EligibleSlotSubmissionsKey.${a}.1.3`, '2');
  const rel = await stack.chain.releaseEpoch(A);
  for (const [projectId, slotId] of [['p1:0x1:NS', 1], ['p2:0x2:NS', 2], ['p3:0x3:NS', 3]] as const) {
    await fileSubmission(stack.redis.client, { market: A, epochId: rel.epochId, projectId, slotId, header: rel.blockHash });
  }
  assert.equal((await epochOutcome(client, A, rel.epochId)).submissionCount, 3);
  await client.workflow.getHandle(`market/${A}/epoch/${rel.epochId}`).result();

  const batched = await waitFor('the epoch line', async () => {
    const lines = logLines('epoch batched');
    return lines.length > 0 && lines;
  });
  assert.equal(batched.length, 1, 'the one epoch released so far');
  const line = batched[0]!;
  assert.equal(line.level, 30, 'info');
  const { latencyMs } = line;
  assert.ok(typeof latencyMs === 'number' && latencyMs >= 0 && latencyMs < 60_000, `latencyMs ${String(latencyMs)}`);
  assert.deepEqual({ market: line.market, epochId: line.epochId, batches: line.batches, submissions: line.submissions, pushedNow: line.pushedNow }, { market: A, epochId: String(rel.epochId), batches: 2, submissions: 3, pushedNow: 2 });

  // A periodic update at every epoch (REWARDS_UPDATE_EPOCH_INTERVAL=1): the finalizer's eligible counts of the day, one chunk.
  assert.equal((await client.workflow.getHandle<typeof periodicRewardsWorkflow>(`market/${A}/epoch/${rel.epochId}/rewards`).result()).periodic.chunkCount, 1);
  const rewards = await waitFor('the reward line', async () => {
    const lines = logLines('reward update sent');
    return lines.length > 0 && lines;
  });
  assert.deepEqual(
    rewards.map(({ level, market, day, updateId, slots, eligibleNodes, chunks }) => ({ level, market, day, updateId, slots, eligibleNodes, chunks })),
    [{ level: 30, market: A, day: '1', updateId: `periodic.${rel.epochId}`, slots: 2, eligibleNodes: 0, chunks: 1 }],
  );
});

test("the README's refreshParams example, run as written, reaches the market", async () => {
  const readme = fs.readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
  const [command] = /temporal workflow signal [^`]+/.exec(readme) ?? [];
  assert.ok(command, 'the README shows the signal command');
  await (await stack.chain.protocolState.getFunction('setDailySnapshotQuota')(A, 42)).wait();
  // The Temporal CLI that scripts/provision.sh installs, first on PATH; the operator's environment.
  const env = { ...stack.env, PATH: `${path.dirname(TEMPORAL_CLI)}:${stack.env.PATH ?? ''}` };
  await run('sh', ['-c', command.replace('<address>', A)], { env, cwd: PROJECT_ROOT });
  await waitFor('the new quota', async () => (await stack.redis.client.hget('DailySnapshotQuotaTableKey', A)) === '42', 10_000);
});

/** A tmux server of the test's own (its socket in `dir`), so that no other tmux session or environment gets in the way. */
function tmux(dir: string) {
  return (...args: string[]) => run('tmux', ['-S', path.join(dir, 'tmux'), ...args]).then((r) => r.stdout);
}

test('status --watch in a terminal (tmux): the market drawn in place, redrawn every second, Ctrl-C quits cleanly', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqflow-watch-'));
  const t = tmux(dir);
  const envArgs = Object.entries(stack.env).flatMap(([k, v]) => (v === undefined ? [] : ['-e', `${k}=${v}`]));
  const statusFile = path.join(dir, 'status');
  try {
    // Run from a shell as a user would; the shell then writes the CLI's exit status to a file.
    const shell = `"${process.execPath}" "${CLI}" status --watch ${A}; echo "$?" > "$0"; sleep 600`;
    await t('new-session', '-d', '-s', 'watch', '-x', '160', '-y', '40', ...envArgs, '--', 'bash', '-c', shell, statusFile);
    const screen = () => t('capture-pane', '-p', '-t', 'watch');
    const block = (text: string) => {
      const m = /block (\d+) \/ head (\d+) {3}lag (\d+)/.exec(text);
      return m ? { block: Number(m[1]), head: Number(m[2]), lag: Number(m[3]) } : null;
    };
    const first = await waitFor('the first frame', async () => {
      const s = await screen();
      return block(s) && s;
    }, 30_000);
    assert.match(first, /^seqflow status --watch {3}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ {3}\(Ctrl-C to quit\)$/m);
    assert.ok(first.includes(`${A}  following  ok`), first);
    assert.match(first, /^ {2}epoch (\d+|-) \(day 1\) {3}open \d+ {3}batched \d+ {3}failed 0 {3}orphaned 0$/m);
    const at = (s: string) => /--watch {3}(\S+)/.exec(s)![1];
    // Blocks come every 500 ms: a redraw shows a later time and a later block, in place.
    const later = await waitFor('a redraw', async () => {
      const s = await screen();
      return at(s) !== at(first) && block(s)!.block > block(first)!.block && s;
    }, 15_000);
    assert.equal(later.split('seqflow status --watch').length, 2, `one frame on the screen, redrawn in place:\n${later}`);
    assert.ok(block(later)!.head >= block(later)!.block);
    assert.match(later, /blocks\/s/);

    await t('send-keys', '-t', 'watch', 'C-c');
    const status = await waitFor('the exit', async () => fs.existsSync(statusFile) && fs.readFileSync(statusFile, 'utf8'), 10_000);
    assert.equal(status, '0\n');
    const end = await screen();
    assert.ok(end.includes(`${A}  following  ok`), `the last frame stays on the screen:\n${end}`);
    assert.doesNotMatch(end, /Error|at .*\.[jt]s:\d+/, 'no stack trace');
  } finally {
    await t('kill-server').catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** Runs the CLI with its stdout piped to us; `onStdout` sees what came so far and may act on the child. */
function cliPiped(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [CLI, ...args], { env, cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

test('status --watch through a pipe: one plain block of lines per second, no escape codes; SIGINT exits 0', async () => {
  const watch = cliPiped(['status', '--watch', A], stack.env);
  await waitFor('three frames', async () => watch.stdout().split('seqflow status --watch').length > 3, 20_000, 100);
  watch.child.kill('SIGINT');
  assert.deepEqual(await watch.exited, { code: 0, signal: null });
  const out = watch.stdout();
  assert.doesNotMatch(out, /\u001b/, 'no escape codes');
  const frames = out.split(/\n\n(?=seqflow status --watch)/);
  assert.ok(frames.length >= 3);
  for (const frame of frames.slice(0, 3)) {
    const lines = frame.split('\n');
    assert.match(lines[0]!, /^seqflow status --watch {3}\S+ {3}\(Ctrl-C to quit\)$/);
    assert.equal(lines[1], '');
    assert.equal(lines[2], `${A}  following  ok`);
    assert.match(lines[3]!, /^ {2}block \d+ \/ head \d+ {3}lag \d+ {3}(-|\d+\.\d) blocks\/s$/);
  }
  assert.equal(watch.stderr(), '');
});

test('status | head: a reader that goes away ends the CLI quietly (no EPIPE stack trace), also while watching', async () => {
  const status = cliPiped(['status', A], stack.env);
  status.child.stdout.destroy(); // the reader is gone before the first line
  assert.deepEqual(await status.exited, { code: 0, signal: null });
  assert.equal(status.stderr(), '');

  // Watching, as a shell runs it: head exits after one line, the CLI at its next write.
  const piped = await run('sh', ['-c', `"${process.execPath}" "${CLI}" status --watch ${A} | head -n 1`], { env: stack.env, cwd: PROJECT_ROOT });
  assert.match(piped.stdout, /^seqflow status --watch /);
  assert.equal(piped.stderr, '');
});

test('start refuses an address that is no data market on chain, before starting anything', async () => {
  const client = stack.temporal.client;
  const nobody = '0x3333333333333333333333333333333333333333';
  const named = await seqflow(['start', nobody], stack.env);
  assert.equal(named.code, 64);
  assert.equal(
    named.stderr,
    `${nobody} is no data market of ProtocolState ${stack.chain.protocolStateAddress}: snapshotSubmissionWindow, DAY_SIZE, dailySnapshotQuota, epochsInADay are all 0 for it\nnothing was started\n`,
  );
  await assert.rejects(client.workflow.getHandle(`market/${nobody}`).describe(), /not found/i);

  // From DATA_MARKET_ADDRESSES it is the configuration that is wrong: exit 2, and the good market is not started either.
  const configured = await seqflow(['start'], { ...stack.env, DATA_MARKET_ADDRESSES: JSON.stringify([B, nobody]) });
  assert.equal(configured.code, 2);
  assert.match(configured.stderr, new RegExp(`DATA_MARKET_ADDRESSES: ${nobody} is no data market of ProtocolState`));
  await assert.rejects(client.workflow.getHandle(`market/${B}`).describe(), /not found/i, 'B was not started either');

  // A ProtocolState address where no contract is: the configuration names the variable.
  const noContract = await seqflow(['start', B], { ...stack.env, PROTOCOL_STATE_CONTRACT: nobody });
  assert.equal(noContract.code, 2);
  assert.match(noContract.stderr, /PROTOCOL_STATE_CONTRACT: .*empty answer from 0x3333333333333333333333333333333333333333 \(no contract there\?\)/);
});

test('a task queue no worker polls: start warns, status answers, updates refuse at once with a hint (exit 1)', async () => {
  const queue = `seqflow-nobody-${randomUUID()}`;
  const env = { ...stack.env, TEMPORAL_TASK_QUEUE: queue };
  const started = await seqflow(['start', B], env);
  assert.equal(started.code, 0);
  assert.match(started.stderr, new RegExp(`warning: no worker polls task queue "${queue}" \\(TEMPORAL_TASK_QUEUE\\)`));
  const [status] = await seqflowJson(['status', B], env);
  assert.deepEqual(status, { market: B, workflowId: `market/${B}`, workflow: 'RUNNING', state: 'waiting for a worker' });
  for (const command of ['pause', 'stop']) {
    const t0 = Date.now();
    const refused = await seqflow([command, B], env);
    assert.equal(refused.code, 1, command);
    assert.equal(refused.stderr, `seqflow: no worker polls task queue "${queue}", so none can answer: nothing was sent. Start a worker with TEMPORAL_TASK_QUEUE=${queue}\n`);
    assert.ok(Date.now() - t0 < 8000, `${command} answered in ${Date.now() - t0} ms`);
  }
  const rewind = await seqflow(['rewind', '--to-block', '1', B], env);
  assert.equal(rewind.code, 1);
  assert.match(rewind.stderr, /no worker polls task queue/);
  await stack.temporal.client.workflow.getHandle(`market/${B}`).terminate('test cleanup');
  // A market that is not running is named as such.
  const notRunning = await seqflow(['pause', B], env);
  assert.equal(notRunning.code, 1);
  assert.equal(notRunning.stderr, `seqflow: market/${B} is not running (its last run is TERMINATED): seqflow start it first\n`);
});

test('a worker killed under a market: an update gives up after --timeout with a hint (exit 1); status still answers', async () => {
  const env = { ...stack.env, TEMPORAL_TASK_QUEUE: doomedQueue };
  await doomed;
  assert.equal((await seqflowJson(['start', C], env))[0]!.result, 'started');
  await waitFor('C following', async () => (await marketStatus(stack.temporal.client, C)).cursor);
  await (await doomed).stop('SIGKILL');
  const t0 = Date.now();
  const paused = await seqflow(['pause', '--timeout', '2', C], env);
  const took = Date.now() - t0;
  assert.equal(paused.code, 1);
  assert.equal(
    paused.stderr,
    `seqflow: no worker answered within 2 s: is a worker running on task queue "${doomedQueue}" (TEMPORAL_TASK_QUEUE of the worker)? (the update may still apply when a worker picks the market up: check with seqflow status)\n`,
  );
  assert.ok(took >= 2000 && took < 8000, `took ${took} ms`);
  const status = await seqflow(['status', '--json', C], env);
  assert.equal(status.code, 0, status.stderr);
  const [row] = JSON.parse(status.stdout) as Array<Record<string, unknown>>;
  assert.equal(row!.state, 'unknown');
  assert.match(String(row!.error), /^status query failed \(is a worker running\?\)/);
  await stack.temporal.client.workflow.getHandle(`market/${C}`).terminate('the worker is gone');
  // Its cursor is asked of a worker: none answers, start says so in time.
  const t1 = Date.now();
  const restart = await seqflow(['start', '--timeout', '2', C], env);
  assert.equal(restart.code, 1);
  assert.match(restart.stderr, new RegExp(`^seqflow: the last run of market/${C} ended TERMINATED and its cursor could not be read \\(.*\\): start a worker so that it can answer, or give --from-block N to start that market elsewhere\n$`));
  assert.ok(Date.now() - t1 < 8000, `start answered in ${Date.now() - t1} ms`);
});

test('stop: the answer says stopping; once the run has completed, status says stopped', async () => {
  const [stopping] = await seqflowJson(['stop', A], stack.env);
  assert.equal(stopping!.state, 'stopping');
  await stack.temporal.client.workflow.getHandle(`market/${A}`).result();
  const [stopped] = await seqflowJson(['status', A], stack.env);
  assert.deepEqual([stopped!.workflow, stopped!.state], ['COMPLETED', 'stopped']);
});

test('--help names every environment variable the CLI reads; a bad --timeout is bad usage', async () => {
  const help = await seqflow(['--help'], {});
  assert.equal(help.code, 0);
  for (const name of ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'TEMPORAL_TASK_QUEUE', 'DATA_MARKET_ADDRESSES', 'RPC_NODES', 'PROST_RPC_URL', 'PROTOCOL_STATE_CONTRACT', 'CONFIRMATIONS']) {
    assert.match(help.stdout, new RegExp(`^ {2}${name} |\\(or ${name}: one URL\\)`, 'm'), name);
  }
  assert.match(help.stdout, /status \[--watch\]/);
  assert.match(help.stdout, /--timeout S/);
  const badTimeout = await seqflow(['pause', '--timeout', '0', A], stack.env);
  assert.equal(badTimeout.code, 64);
  assert.equal(badTimeout.stderr, '--timeout must be a number of seconds from 1 to 3600, got 0\n');
});
