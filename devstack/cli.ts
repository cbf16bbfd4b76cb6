/** Runs the operator CLI (`bin/seqflow.js`) as a separate process, as an operator would. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from './temporal.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function seqflow(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [path.join(PROJECT_ROOT, 'bin/seqflow.js'), ...args], { env, cwd: PROJECT_ROOT });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** `seqflow <args> --json`, parsed; throws with the CLI's stderr if it failed. */
export async function seqflowJson<T = Array<Record<string, unknown>>>(args: string[], env: NodeJS.ProcessEnv): Promise<T> {
  const result = await seqflow([...args, '--json'], env);
  if (result.code !== 0) throw new Error(`seqflow ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}
