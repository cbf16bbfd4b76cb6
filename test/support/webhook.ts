/** A real HTTP server standing in for the alert webhook (SLACK_REPORTING_URL): records every POST, can fail the next ones. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface WebhookRequest {
  body: string;
  status: number;
}

export interface WebhookStandIn {
  url: string;
  requests: WebhookRequest[];
  /** Bodies answered 200, in arrival order. */
  delivered(): string[];
  /** The next requests are answered with these statuses, in order, then 200 again. */
  failNext(statuses: number[]): void;
  stop(): Promise<void>;
}

export async function startWebhook(): Promise<WebhookStandIn> {
  const requests: WebhookRequest[] = [];
  let failures: number[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = failures.shift() ?? 200;
      requests.push({ body: Buffer.concat(chunks).toString('utf8'), status });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'failed');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/alerts`,
    requests,
    delivered: () => requests.filter((r) => r.status === 200).map((r) => r.body),
    failNext: (statuses) => {
      failures = [...statuses];
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
