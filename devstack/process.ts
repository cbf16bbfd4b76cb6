/**
 * Child processes for the tests' real services (Hardhat, Redis, Temporal, the worker): free
 * loopback ports, logs in a temp file, readiness polling, and no orphan left behind.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** Asks the OS for a free loopback port. Racy in theory, fine for tests. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('could not get a free port'))));
    });
  });
}

export interface ServiceProcess {
  readonly name: string;
  readonly pid: number;
  readonly logPath: string;
  log(): string;
  /** Kills with `signal` and waits for the exit (SIGKILL after 15 s if it lingers). */
  stop(signal?: NodeJS.Signals): Promise<void>;
  readonly exited: Promise<number | null>;
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Resolves true once the service answers. */
  ready: (service: ServiceProcess) => Promise<boolean>;
  readyTimeoutMs?: number;
}

export async function spawnService(opts: SpawnOptions): Promise<ServiceProcess> {
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), `seqflow-${opts.name}-`));
  const logPath = path.join(logDir, `${opts.name}.log`);
  const fd = fs.openSync(logPath, 'a');
  const child = spawn(opts.command, opts.args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  let done = false;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      done = true;
      resolve(code);
    });
    child.once('error', () => {
      done = true;
      resolve(null);
    });
  });
  const killOnExit = () => {
    if (!done) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const service: ServiceProcess = {
    name: opts.name,
    pid: child.pid ?? -1,
    logPath,
    exited,
    log: () => (fs.existsSync(logPath) ? fs.readFileSync(logPath, 'utf8') : ''),
    async stop(signal = 'SIGTERM') {
      process.removeListener('exit', killOnExit);
      if (!done) {
        child.kill(signal);
        const timer = setTimeout(() => !done && child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (done) throw new Error(`${opts.name} exited before it was ready; log tail:\n${service.log().slice(-3000)}`);
    if (await opts.ready(service).catch(() => false)) return service;
    if (Date.now() > deadline) {
      await service.stop('SIGKILL');
      throw new Error(`${opts.name} was not ready within ${opts.readyTimeoutMs ?? 30_000} ms; log tail:\n${service.log().slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 60_000, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
