/**
 * Connections to Temporal for the worker (NativeConnection) and the CLI (Connection), checked
 * at start-up: the frontend at TEMPORAL_ADDRESS answers (the worker waits STARTUP_WAIT_MS, the CLI 5 s) and
 * TEMPORAL_NAMESPACE exists there; for the worker, with seqflow's search attributes registered.
 * Each failure is a ConfigError naming its variable, so that the worker and the CLI exit 2 with
 * it instead of a gRPC stack trace.
 */
import { Client, Connection } from '@temporalio/client';
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

/** The worker's connection; its namespace exists, with seqflow's search attributes. */
export async function connectWorker(config: TemporalConfig): Promise<NativeConnection> {
  const connection = await untilDeadline(() => NativeConnection.connect({ address: config.address }), unreachable(config, STARTUP_WAIT_MS));
  return checkSearchAttributes(await checkNamespace(connection, config), config);
}

/** A client for the CLI, bound to the namespace, which exists. */
export async function connectClient(config: TemporalConfig): Promise<Client> {
  const connection = await untilDeadline(() => Connection.connect({ address: config.address, connectTimeout: CLI_WAIT_MS }), unreachable(config, CLI_WAIT_MS), CLI_WAIT_MS);
  return new Client({ connection: await checkNamespace(connection, config), namespace: config.namespace });
}
