/**
 * A TLS front for the dev server, which speaks only plain gRPC: it terminates TLS (ALPN h2, a
 * client certificate of its CA required, as a Temporal frontend with mTLS does) and pipes the
 * bytes to the dev server, so that seqflow's TLS settings are tried against a real handshake.
 */
import net from 'node:net';
import tls from 'node:tls';

export interface TlsProxy {
  port: number;
  close(): Promise<void>;
}

export async function startTlsProxy(opts: { target: string; cert: Buffer; key: Buffer; ca: Buffer }): Promise<TlsProxy> {
  const [host, port] = opts.target.split(':') as [string, string];
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({ cert: opts.cert, key: opts.key, ca: opts.ca, requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'] }, (client) => {
    const upstream = net.connect(Number(port), host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      // Either end gone: the other goes too, as the connection it carried is over.
      socket.on('error', () => {});
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  // A refused handshake is what some tests are after: it is no error of the proxy's.
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
