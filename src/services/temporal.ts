/**
 * Connections to Temporal for the worker (NativeConnection) and the CLI (Connection), checked
 * at start-up: the frontend at TEMPORAL_ADDRESS answers (the worker waits STARTUP_WAIT_MS, the CLI 5 s) and
 * TEMPORAL_NAMESPACE exists there; for the worker, with seqflow's search attributes registered.
 * Each failure is a ConfigError naming its variable, so that the worker and the CLI exit 2 with
 * it instead of a gRPC stack trace.
 */
import net from 'node:net';
import tls from 'node:tls';
import { Client, Connection, type ClientInterceptors } from '@temporalio/client';
import protos from '@temporalio/proto';
import { NativeConnection } from '@temporalio/worker';
import { ConfigError, type TemporalConfig } from '../config.js';
import { SEARCH_ATTRIBUTE_KEYS, SEARCH_ATTRIBUTE_TYPE_NAMES } from '../workflows/search-attributes.js';
import { STARTUP_WAIT_MS, untilDeadline } from './startup.js';

/** gRPC status NOT_FOUND, as describeNamespace answers for a namespace the server does not have. */
const GRPC_NOT_FOUND = 5;

/** The CLI waits this long for the frontend: an operator at a terminal should not wait for a compose stack. */
const CLI_WAIT_MS = 5_000;

const unreachable = (config: TemporalConfig, waitMs: number) => (lastError: string) =>
  new ConfigError([`TEMPORAL_ADDRESS: no Temporal frontend answers at ${config.address} within ${waitMs / 1000} s: ${lastError}`]);

/** What listSearchAttributes answers for each type of attribute seqflow sets. */
const INDEXED_VALUE_TYPES = {
  KEYWORD: protos.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
} as const satisfies Record<(typeof SEARCH_ATTRIBUTE_KEYS)[number]['type'], number>;

/** Closes the connection unless TEMPORAL_NAMESPACE exists on its server. */
async function checkNamespace<C extends Connection | NativeConnection>(connection: C, config: TemporalConfig): Promise<C> {
  try {
    await connection.workflowService.describeNamespace({ namespace: config.namespace });
    return connection;
  } catch (err) {
    await connection.close();
    const { code, message } = err as { code?: number; message?: string };
    if (code === GRPC_NOT_FOUND) {
      throw new ConfigError([`TEMPORAL_NAMESPACE: Temporal at ${config.address} has no namespace "${config.namespace}" (create it: temporal operator namespace create ${config.namespace})`]);
    }
    throw new ConfigError([`TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE: Temporal at ${config.address} could not describe namespace "${config.namespace}": ${message ?? String(err)}`]);
  }
}

/**
 * Closes the connection unless the namespace has every search attribute seqflow sets, of its
 * type: without them every workflow the worker runs would fail to start its children (the
 * server refuses unknown attributes), so the worker refuses to start, naming what to register.
 */
async function checkSearchAttributes(connection: NativeConnection, config: TemporalConfig): Promise<NativeConnection> {
  let registered: Record<string, unknown>;
  try {
    registered = (await connection.operatorService.listSearchAttributes({ namespace: config.namespace })).customAttributes ?? {};
  } catch (err) {
    await connection.close();
    throw new ConfigError([`TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE: Temporal at ${config.address} could not list the search attributes of namespace "${config.namespace}": ${(err as Error).message}`]);
  }
  const missing = SEARCH_ATTRIBUTE_KEYS.filter((key) => registered[key.name] !== INDEXED_VALUE_TYPES[key.type]);
  if (missing.length === 0) return connection;
  await connection.close();
  const wrongType = missing.filter((key) => registered[key.name] !== undefined).map((key) => `${key.name} is registered with another type (remove it first: temporal operator search-attribute remove --namespace ${config.namespace} --name ${key.name})`);
  const create = missing.map((key) => `--name ${key.name} --type ${SEARCH_ATTRIBUTE_TYPE_NAMES[key.type]}`).join(' ');
  throw new ConfigError([
    `TEMPORAL_NAMESPACE: namespace "${config.namespace}" at ${config.address} lacks the search attributes seqflow's workflows set: ${missing.map((key) => `${key.name} (${SEARCH_ATTRIBUTE_TYPE_NAMES[key.type]})`).join(', ')}` +
      `${wrongType.length > 0 ? `; ${wrongType.join('; ')}` : ''}. Register them: temporal operator search-attribute create --namespace ${config.namespace} ${create}`,
  ]);
}

/** What both connections are given, so that the worker's and the CLI's reach Temporal alike. */
const connectionOptions = (config: TemporalConfig) => ({ address: config.address, tls: config.tls, apiKey: config.apiKey, metadata: config.metadata });

/** How long after the handshake the frontend's first HTTP/2 frame is awaited as its acceptance of the client certificate. */
const TLS_VERDICT_MS = 1_000;

/**
 * A handshake of Node's own with the frontend, with seqflow's TLS settings: the SDK's failures
 * hide the TLS alert (grpc-js says "Failed to connect before the deadline", core a transport
 * error), and a refused certificate is no reason to wait for a server. Throws a ConfigError
 * naming the settings if the frontend's certificate fails the check, it speaks no TLS, or it
 * refuses the client certificate; returns if it cannot be reached, which the connect reports.
 */
async function checkTls(config: TemporalConfig): Promise<void> {
  if (config.tls === undefined) return;
  const options = config.tls === true ? {} : config.tls;
  const colon = config.address.lastIndexOf(':');
  const host = config.address.slice(0, colon).replace(/^\[|\]$/g, '');
  const servername = options.serverNameOverride ?? host;
  const refused = `TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH: Temporal at ${config.address} refused ${options.clientCertPair === undefined ? 'a connection without a client certificate' : 'the client certificate'}`;
  const problem = await new Promise<string | undefined>((resolve) => {
    const socket = tls.connect({
      host, port: Number(config.address.slice(colon + 1)), ALPNProtocols: ['h2'],
      // Node refuses an IP address as SNI; the certificate is then checked against the address.
      ...(net.isIP(servername) ? {} : { servername }),
      ca: options.serverRootCACertificate === undefined ? undefined : Buffer.from(options.serverRootCACertificate),
      cert: options.clientCertPair === undefined ? undefined : Buffer.from(options.clientCertPair.crt),
      key: options.clientCertPair === undefined ? undefined : Buffer.from(options.clientCertPair.key),
    });
    let handshaken = false;
    const done = (result: string | undefined) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(CLI_WAIT_MS, () => done(undefined));
    socket.once('secureConnect', () => {
      handshaken = true;
      // TLS 1.3 judges the client certificate after the client's handshake is done: an HTTP/2
      // server's first frame (its SETTINGS, sent unasked) says it was taken, a close that it was not.
      socket.once('data', () => done(undefined));
      socket.once('close', () => done(`${refused}: it closed the connection after the handshake`));
      setTimeout(() => done(undefined), TLS_VERDICT_MS).unref();
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? '';
      if (handshaken || code.includes('ALERT')) done(`${refused}: ${err.message}`);
      else if (code.startsWith('ERR_SSL')) done(`TEMPORAL_TLS: no TLS handshake with Temporal at ${config.address}: ${err.message}`);
      else if (/CERT|SELF_SIGNED|ISSUER|ALTNAME/.test(code)) done(`TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_SERVER_NAME: the certificate of Temporal at ${config.address} fails the check: ${err.message}`);
      else done(undefined);
    });
  });
  if (problem !== undefined) throw new ConfigError([problem]);
}

/** The worker's connection; its namespace exists, with seqflow's search attributes. */
export async function connectWorker(config: TemporalConfig): Promise<NativeConnection> {
  const attempt = async () => {
    await checkTls(config);
    return NativeConnection.connect(connectionOptions(config));
  };
  const connection = await untilDeadline(attempt, unreachable(config, STARTUP_WAIT_MS));
  return checkSearchAttributes(await checkNamespace(connection, config), config);
}

/** A client for the CLI, bound to the namespace, which exists; with `interceptors` (the CLI's, when tracing is on). */
export async function connectClient(config: TemporalConfig, interceptors?: ClientInterceptors): Promise<Client> {
  const attempt = async () => {
    await checkTls(config);
    return Connection.connect({ ...connectionOptions(config), connectTimeout: CLI_WAIT_MS });
  };
  const connection = await untilDeadline(attempt, unreachable(config, CLI_WAIT_MS), CLI_WAIT_MS);
  return new Client({ connection: await checkNamespace(connection, config), namespace: config.namespace, ...(interceptors ? { interceptors } : {}) });
}
