/**
 * Connections to Temporal for the worker (NativeConnection) and the CLI (Connection), checked
 * at start-up: the frontend at TEMPORAL_ADDRESS answers (the worker waits STARTUP_WAIT_MS, the CLI 5 s) and
 * TEMPORAL_NAMESPACE exists there. Each failure is a ConfigError naming its variable, so that
 * the worker and the CLI exit 2 with it instead of a gRPC stack trace.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { ConfigError, type TemporalConfig } from '../config.js';
import { STARTUP_WAIT_MS, untilDeadline } from './startup.js';

/** gRPC status NOT_FOUND, as describeNamespace answers for a namespace the server does not have. */
const GRPC_NOT_FOUND = 5;

/** The CLI waits this long for the frontend: an operator at a terminal should not wait for a compose stack. */
const CLI_WAIT_MS = 5_000;

const unreachable = (config: TemporalConfig, waitMs: number) => (lastError: string) =>
  new ConfigError([`TEMPORAL_ADDRESS: no Temporal frontend answers at ${config.address} within ${waitMs / 1000} s: ${lastError}`]);

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

/** The worker's connection; its namespace exists. */
export async function connectWorker(config: TemporalConfig): Promise<NativeConnection> {
  const connection = await untilDeadline(() => NativeConnection.connect({ address: config.address }), unreachable(config, STARTUP_WAIT_MS));
  return checkNamespace(connection, config);
}

/** A client for the CLI, bound to the namespace, which exists. */
export async function connectClient(config: TemporalConfig): Promise<Client> {
  const connection = await untilDeadline(() => Connection.connect({ address: config.address, connectTimeout: CLI_WAIT_MS }), unreachable(config, CLI_WAIT_MS), CLI_WAIT_MS);
  return new Client({ connection: await checkNamespace(connection, config), namespace: config.namespace });
}
