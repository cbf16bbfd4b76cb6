/**
 * A real HTTP server standing in for relayer-py: checks `authToken` like it (401), records
 * every request body byte for byte, and can be told to fail the next calls of a path, its answer
 * echoing the request as validating frameworks do (FastAPI's 422 carries the `input`).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RelayerRequest {
  path: string;
  body: string;
  json: Record<string, unknown>;
  status: number;
}

export interface RelayerStandIn {
  url: string;
  /** Every request, also the failed ones, in arrival order. */
  requests: RelayerRequest[];
  accepted(path: string): RelayerRequest[];
  /**
   * The next calls of `path` are answered with these statuses, in order, before 200 again; with
   * `echo`, each answer holds the request body (`{"message":…,"input":<body>}`).
   */
  failNext(path: string, statuses: number[], opts?: { echo: boolean }): void;
  stop(): Promise<void>;
}

export async function startRelayer(authToken: string): Promise<RelayerStandIn> {
  const requests: RelayerRequest[] = [];
  const failures = new Map<string, { statuses: number[]; echo: boolean }>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = req.url ?? '';
      let json: Record<string, unknown> = {};
      let status = 200;
      try {
        json = JSON.parse(body) as Record<string, unknown>;
      } catch {
        status = 422;
      }
      const planned = failures.get(path);
      const failure = status === 200 && planned?.statuses.length ? planned : undefined;
      if (failure) status = failure.statuses.shift()!;
      else if (status === 200 && json.authToken !== authToken) status = 401;
      requests.push({ path, body, json, status });
      const message = status === 200 ? 'Request Submitted Successfully' : status === 401 ? 'Unauthorized' : 'Invalid request payload!';
      res.writeHead(status, { 'content-type': 'application/json' }).end(failure?.echo ? `{"message":${JSON.stringify(message)},"input":${body}}` : JSON.stringify({ message }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    accepted: (path) => requests.filter((r) => r.path === path && r.status === 200),
    failNext: (path, statuses, opts) => failures.set(path, { statuses: [...statuses], echo: opts?.echo ?? false }),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
