/**
 * `npm run dev` (scripts/dev.sh) as a newcomer runs it, in a real terminal (tmux): the local
 * stack comes up, Ctrl-C stops it, and nothing it wrote is left in the temporary folder.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { freePort, waitFor } from '../../devstack/process.js';
import { PROJECT_ROOT } from '../../devstack/temporal.js';

const run = promisify(execFile);

test('npm run dev: Ctrl-C stops the stack and removes every folder it made', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seqflow-devtest-'));
  // The tmux server's socket and the script's exit status, outside the folder that must end up empty.
  const own = fs.mkdtempSync(path.join(os.tmpdir(), 'seqflow-devtest-own-'));
  const statusFile = path.join(own, 'status');
  const t = (...args: string[]) => run('tmux', ['-S', path.join(own, 'tmux'), ...args]).then((r) => r.stdout);
  try {
    const env = ['-e', `TMPDIR=${tmp}`, '-e', `SEQFLOW_UI_PORT=${await freePort()}`];
    // As a user runs it from an interactive shell, which waits for it and then reports its exit
    // status; with its own Temporal dev server, not the one `npm test` shares.
    const shell = 'env -u SEQFLOW_TEST_TEMPORAL_ADDRESS bash scripts/dev.sh; echo "$?" > "$0"; sleep 600';
    await t('new-session', '-d', '-s', 'dev', '-x', '200', '-y', '50', '-c', PROJECT_ROOT, ...env, '--', 'bash', '-c', shell, statusFile);
    const screen = () => t('capture-pane', '-p', '-S', '-100', '-t', 'dev');
    await waitFor('the stack to be up', async () => (await screen()).includes('seqflow is running on a local stack'), 120_000, 500).catch(async (err: unknown) => {
      throw new Error(`${String(err)}; the terminal shows:\n${await screen()}`);
    });
    const [scratch, ...others] = fs.readdirSync(tmp);
    assert.deepEqual(others, []);
    assert.match(scratch!, /^seqflow-dev\.\w{6}$/);
    // The services' folders are in the script's own temporary folder.
    const made = fs.readdirSync(path.join(tmp, scratch!));
    for (const prefix of ['seqflow-worker-', 'seqflow-redis-data-', 'seqflow-temporal-']) assert.ok(made.some((d) => d.startsWith(prefix)), `${prefix}* in ${made.join(', ')}`);

    await t('send-keys', '-t', 'dev', 'C-c');
    const status = await waitFor('the script to end', async () => fs.existsSync(statusFile) && fs.readFileSync(statusFile, 'utf8'), 60_000, 250).catch(async (err: unknown) => {
      const pid = (await t('display-message', '-p', '-t', 'dev', '#{pane_pid}')).trim();
      const tree = await run('pstree', ['-ap', pid]).then((r) => r.stdout, (e: unknown) => String(e));
      throw new Error(`${String(err)}; the terminal shows:\n${await screen()}\nprocesses:\n${tree}`);
    });
    assert.equal(status, '0\n', await screen());
    assert.match(await screen(), /stopping the local stack/);
    assert.deepEqual(fs.readdirSync(tmp), [], 'nothing left behind');
  } finally {
    await t('kill-server').catch(() => undefined);
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.rmSync(own, { recursive: true, force: true });
  }
});
