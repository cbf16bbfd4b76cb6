/**
 * Upstream's CORS, decision for decision: gorilla/handlers v1.5.2 `CORS` (cors.go) with
 * AllowedOrigins `*`, AllowedMethods GET, POST, PUT, DELETE, OPTIONS and AllowedHeaders
 * Content-Type, Authorization, X-Request-ID, wrapped around every path. Pure.
 *
 * - No `Origin`: nothing is added; an OPTIONS request is answered 200 with an empty body.
 * - A preflight (OPTIONS with an `Origin`): 400 without `Access-Control-Request-Method`, 405 when
 *   that method is not allowed, 403 when a requested header is not; else 200 with
 *   `Access-Control-Allow-Origin: *`, `Access-Control-Allow-Headers` (the requested headers
 *   beyond the always-allowed Accept, Accept-Language, Content-Language and Origin) and, for a
 *   method other than GET, HEAD and POST, `Access-Control-Allow-Methods`. Empty bodies.
 * - Any other request with an `Origin`: `Access-Control-Allow-Origin: *`, then the route answers.
 */

/** The parts of a request CORS looks at (header values as received; undefined when absent). */
export interface CorsRequest {
  method: string;
  origin: string | undefined;
  requestMethod: string | undefined;
  requestHeaders: string | undefined;
}

export interface CorsDecision {
  headers: Record<string, string>;
  /** Answer now, with this status and an empty body (OPTIONS); null: the route answers. */
  answerStatus: number | null;
}

const ALLOWED_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'];
/** Always allowed, and never echoed back. */
const DEFAULT_HEADERS = ['Accept', 'Accept-Language', 'Content-Language', 'Origin'];
const ALLOWED_HEADERS = [...DEFAULT_HEADERS, 'Content-Type', 'Authorization', 'X-Request-Id'];
const SIMPLE_METHODS = ['GET', 'HEAD', 'POST'];

/** Go's textproto.CanonicalMIMEHeaderKey: `content-type` → `Content-Type`; a name with a byte that is no token character is left as it is. */
export function canonicalHeaderKey(name: string): string {
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]*$/.test(name)) return name;
  let upper = true;
  let out = '';
  for (const ch of name) {
    out += upper ? ch.toUpperCase() : ch.toLowerCase();
    upper = ch === '-';
  }
  return out;
}

export function corsDecision(request: CorsRequest): CorsDecision {
  const none = { headers: {}, answerStatus: null };
  if (!request.origin) return request.method === 'OPTIONS' ? { headers: {}, answerStatus: 200 } : none;
  if (request.method !== 'OPTIONS') return { headers: { 'Access-Control-Allow-Origin': '*' }, answerStatus: null };

  if (request.requestMethod === undefined) return { headers: {}, answerStatus: 400 };
  if (!ALLOWED_METHODS.includes(request.requestMethod)) return { headers: {}, answerStatus: 405 };
  const headers: Record<string, string> = {};
  const echoed: string[] = [];
  for (const raw of (request.requestHeaders ?? '').split(',')) {
    const name = canonicalHeaderKey(raw.trim());
    if (name === '' || DEFAULT_HEADERS.includes(name)) continue;
    if (!ALLOWED_HEADERS.includes(name)) return { headers: {}, answerStatus: 403 };
    echoed.push(name);
  }
  if (echoed.length > 0) headers['Access-Control-Allow-Headers'] = echoed.join(',');
  if (!SIMPLE_METHODS.includes(request.requestMethod)) headers['Access-Control-Allow-Methods'] = request.requestMethod;
  headers['Access-Control-Allow-Origin'] = '*';
  return { headers, answerStatus: 200 };
}
