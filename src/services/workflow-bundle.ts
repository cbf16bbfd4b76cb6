/**
 * The workflow code bundle, built by webpack in a child process. Bundling in the worker itself
 * leaves ~130 MiB of webpack's memory in the worker's RSS for its whole life (measured: 127 →
 * 254 MiB, kept after a GC); in a child, it goes when the child exits. The bundle is written to
 * a private temporary folder, read by Worker.create, and removed.
 */
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { siblingModule } from './module-path.js';

/** What the child bundles: the workflows module and any workflow interceptor modules (absolute paths). */
export interface BundleRequest {
  workflowsPath: string;
  workflowInterceptorModules?: string[];
}

const CHILD = siblingModule(import.meta.url, './workflow-bundle-child.ts');

/**
 * Bundles in a child process and hands `use` the bundle's path; the file is removed once `use`
 * returns (Worker.create reads it at once). Throws with the child's exit code if bundling failed
 * (webpack's errors are on the child's stderr, which is the worker's).
 */
export async function withWorkflowBundle<T>(request: BundleRequest, use: (bundle: { codePath: string }) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'seqflow-workflows-'));
  try {
    const codePath = path.join(dir, 'workflows.js');
    // The same flags as this process: tsx when it runs the TypeScript sources, none for dist/.
    const child = fork(CHILD, [JSON.stringify(request), codePath], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (exitCode) => resolve(exitCode));
    });
    if (code !== 0) throw new Error(`bundling the workflow code failed (child exited ${String(code)})`);
    return await use({ codePath });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
