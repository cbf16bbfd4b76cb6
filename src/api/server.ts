/**
 * The read API's HTTP server: upstream's 12 routes (routes.ts) on Fastify, built from injected
 * Redis, contract reader and settings, so that the tests and `seqflow api` (main.ts) run the
 * same server.
 *
 * As upstream's (pkgs/service/api.go): every response carries `X-Request-ID: <uuid>`, the same
 * UUID as the envelope's `requestID`; gorilla's CORS wraps every path (cors.ts); errors are plain
 * text with a newline (Go's http.Error); any Content-Type is read as JSON, as Go's handlers
 * ignore it; an unknown path is `404 page not found`; the routes answer every method that can
 * carry a body (GET, HEAD, POST, PUT, PATCH, DELETE), POST being the documented one. The OpenAPI
 * document is at `/swagger/doc.json` and Swagger UI at `/swagger/`.
 *
 * Bodies are decoded as Go decodes them (go-json.ts), not by Fastify's validator: the route
 * schemas only document them. Answers are written as Go's encoding/json writes them, not by
 * Fastify's serializer.
 */
import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { errorBody, localUtcOffsetMinutes, successBody } from './answers.js';
import { corsDecision } from './cors.js';
import { bodySchemaOf } from './requests.js';
import { Refusal, routes, type ApiRoute, type ProtocolStateReader, type RouteDeps } from './routes.js';

export interface ApiServerDeps {
  redis: Redis;
  chain: ProtocolStateReader;
  /** AUTH_READ_TOKEN. */
  authReadToken: string;
  /** EIP-55 addresses of the markets answered for. */
  dataMarkets: readonly string[];
  /** The OpenAPI document's server URL (API_HOST), if any. */
  publicUrl: string | undefined;
  logger: FastifyBaseLogger;
  /** The time zone of timestamps (offset east of UTC in minutes at an instant); default: the process's. */
  utcOffsetMinutes?: (epochMs: number) => number;
}

/** The largest request body read (bytes): far above any request, small enough to be harmless. */
const BODY_LIMIT = 1 << 20;

/** The methods a route also answers, as POST, the documented one: upstream answers any method. */
const UNDOCUMENTED_METHODS = ['GET', 'HEAD', 'PUT', 'PATCH', 'DELETE'] as const;

function sendText(reply: FastifyReply, status: number, text: string): FastifyReply {
  return reply.code(status).header('content-type', 'text/plain; charset=utf-8').header('x-content-type-options', 'nosniff').send(errorBody(text));
}

/** The raw body. Fastify reads it for most methods (any Content-Type, see below); GET and HEAD bodies are read here. */
async function bodyOf(request: FastifyRequest): Promise<Uint8Array> {
  if (Buffer.isBuffer(request.body)) return request.body;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request.raw as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > BODY_LIMIT) throw new Refusal(413, 'Request body is too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** `r.URL.Query().Get("includeSlotDetails") == "true"`: the first value, exactly `true`. */
function includeSlotDetails(url: string): boolean {
  const query = url.indexOf('?');
  return query >= 0 && new URLSearchParams(url.slice(query + 1)).get('includeSlotDetails') === 'true';
}

/** The route's part of the OpenAPI document. */
function schemaOf(route: ApiRoute): Record<string, unknown> {
  const text = (description: string) => ({ description, content: { 'text/plain': { schema: { type: 'string' } } } });
  const envelope = {
    type: 'object',
    properties: {
      info: { type: 'object', properties: { success: { type: 'boolean' }, response: route.response } },
      requestID: { type: 'string', format: 'uuid', description: 'also the X-Request-ID header' },
    },
  };
  return {
    summary: route.summary,
    description: route.description,
    tags: route.tags,
    body: bodySchemaOf(route.request),
    ...(route.takesSlotDetails
      ? { querystring: { type: 'object', properties: { includeSlotDetails: { type: 'boolean', description: 'true: list the eligible slot IDs' } } } }
      : {}),
    response: {
      200: { description: 'OK', content: { 'application/json': { schema: envelope } } },
      ...Object.fromEntries(Object.entries(route.errors).map(([status, description]) => [status, text(description)])),
    },
  };
}

export async function buildApiServer(deps: ApiServerDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger,
    // Request log lines carry the request's ID under the envelope's name for it.
    logController: new LogController({ requestIdLogLabel: 'requestID' }),
    genReqId: () => randomUUID(),
    bodyLimit: BODY_LIMIT,
  });
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  // Every Content-Type is a body to decode as JSON (curl -d sends form-urlencoded).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.addHook('onRequest', async (request, reply) => {
    reply.header('X-Request-ID', request.id);
    const header = (name: string) => {
      const value = request.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const cors = corsDecision({
      method: request.method,
      origin: header('origin'),
      requestMethod: header('access-control-request-method'),
      requestHeaders: header('access-control-request-headers'),
    });
    for (const [name, value] of Object.entries(cors.headers)) reply.header(name, value);
    // Replying here ends the request: the route never sees a preflight.
    if (cors.answerStatus !== null) return reply.code(cors.answerStatus).send();
  });
  app.setNotFoundHandler((_request, reply) => sendText(reply, 404, '404 page not found'));
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) request.log.error({ err }, 'request failed');
    return sendText(reply, status, status >= 500 ? 'Internal Server Error' : err.message);
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Sequencer API Documentation',
        version: '1.0',
        description:
          "seqflow's read API, upstream's routes and answers: POST a JSON body with `token` (AUTH_READ_TOKEN) and `dataMarketAddress`. Success: `{\"info\":{\"success\":true,\"response\":…},\"requestID\":\"<uuid>\"}`; errors: plain text.",
      },
      ...(deps.publicUrl ? { servers: [{ url: deps.publicUrl }] } : {}),
    },
  });
  await app.register(swaggerUi, { routePrefix: '/swagger', uiConfig: { docExpansion: 'none', deepLinking: true } });
  app.get('/swagger/doc.json', { schema: { hide: true } }, async () => app.swagger());

  const routeDeps: RouteDeps = {
    redis: deps.redis,
    chain: deps.chain,
    authReadToken: deps.authReadToken,
    dataMarkets: deps.dataMarkets,
    utcOffsetMinutes: deps.utcOffsetMinutes ?? localUtcOffsetMinutes,
  };
  for (const route of routes) {
    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      try {
        const payload = await route.run({ deps: routeDeps, log: request.log, includeSlotDetails: includeSlotDetails(request.url) }, await bodyOf(request));
        return reply.code(200).header('content-type', 'application/json').send(successBody(payload, request.id));
      } catch (err) {
        if (err instanceof Refusal) return sendText(reply, err.status, err.text);
        throw err;
      }
    };
    app.route({ method: 'POST', url: route.path, schema: schemaOf(route), handler });
    app.route({ method: [...UNDOCUMENTED_METHODS], url: route.path, schema: { hide: true }, handler });
  }
  return app;
}
