/**
 * The dequeuer's `EpochSubmissionsKey.<market>.<epoch>` hash values, read as upstream reads them:
 * `protojson.Unmarshal` into the SnapshotSubmission message (neighbours.md §5: the dequeuer writes
 * encoding/json of the generated struct, so uint64 fields are JSON numbers; protojson also takes
 * them as strings). Pure.
 *
 * protojson's rules decide which values upstream lists and which it skips, so they are kept: the
 * value is one JSON object; a field name is the .proto's (its JSON name is the same here),
 * case-sensitive; an unknown or repeated field refuses the whole value; `null` leaves a field
 * unset; a uint64 is a JSON number, or a string holding one, that is an integer in 0..2^64−1
 * (`1.0` and `1e2` are); strings are valid UTF-8.
 * Source: google.golang.org/protobuf encoding/protojson decode.go and
 * internal/encoding/json/decode_number.go; upstream pkgs/submission.pb.go.
 */
import { parseJson, type JsonNode, type JsonText, type Parsed } from './go-json.js';

export interface SubmissionRequest {
  slotId: bigint;
  /** Anchor-chain block number. */
  deadline: bigint;
  snapshotCid: string;
  epochId: bigint;
  projectId: string;
}

export interface SnapshotSubmission {
  /** null when the value has none (upstream's handler crashes on such a value). */
  request: SubmissionRequest | null;
  signature: string;
  header: string;
  dataMarket: string;
  nodeVersion: string | null;
}

type FieldKind = 'uint64' | 'string' | 'request';

const SUBMISSION_FIELDS: Record<string, FieldKind> = { request: 'request', signature: 'string', header: 'string', dataMarket: 'string', nodeVersion: 'string' };
const REQUEST_FIELDS: Record<string, FieldKind> = { slotId: 'uint64', deadline: 'uint64', snapshotCid: 'string', epochId: 'uint64', projectId: 'string' };

const UINT64_MAX = (1n << 64n) - 1n;
const JSON_NUMBER = /^(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?/;

/**
 * A JSON number's text as a uint64, or null: protobuf's normalizeToIntString (the fraction
 * shifted by the exponent must leave no non-zero digit) then strconv.ParseUint.
 */
export function protoUint64(literal: string): bigint | null {
  const m = JSON_NUMBER.exec(literal);
  if (!m || m[0].length !== literal.length) return null;
  const [, minus, int, fraction = '', exponent] = m;
  const intDigits = int === '0' ? '' : int!;
  const frac = fraction.replace(/0+$/, '');
  let digits: string;
  // Zero is zero whatever the sign and exponent (checked before either, as protobuf does).
  if (frac === '' && intDigits === '') digits = '0';
  else {
    const exp = exponent === undefined ? 0 : Number(exponent);
    if (!Number.isSafeInteger(exp) || Math.abs(exp) > 2 ** 31 - 1) return null;
    if (exp >= 0) {
      // More fraction digits than the exponent shifts: no integer; over 20 digits: beyond uint64.
      if (frac.length > exp || intDigits.length + exp > 20) return null;
      digits = intDigits + frac + '0'.repeat(exp - frac.length);
    } else {
      const point = intDigits.length + exp;
      if (frac !== '' || point < 0 || /[1-9]/.test(intDigits.slice(point))) return null;
      digits = intDigits.slice(0, point);
    }
    if (digits === '') digits = '0';
  }
  if (minus === '-' && /[1-9]/.test(digits)) return null;
  const value = BigInt(digits);
  return value <= UINT64_MAX ? value : null;
}

/** A uint64 given as a string: it must hold a JSON number and nothing around it but a delimiter. */
function uint64FromString(text: string): bigint | null {
  if (text.trim() !== text) return null;
  const m = JSON_NUMBER.exec(text);
  if (!m) return null;
  // protobuf's decoder reads one number token: the next character must end it.
  const next = text[m[0].length];
  if (next !== undefined && /[-+._a-zA-Z0-9]/.test(next)) return null;
  return protoUint64(m[0]);
}

const invalidText = (t: JsonText) => !t.valid;

/** Reads the fields of `node` (an object) by `fields`; throws the reason protojson refuses it. */
function readMessage(node: JsonNode, fields: Record<string, FieldKind>): Map<string, JsonNode> {
  if (node.t !== 'object') throw new Error(`expected an object, got ${node.t}`);
  const seen = new Map<string, JsonNode>();
  for (const [key, value] of node.entries) {
    if (invalidText(key)) throw new Error('invalid UTF-8 in a field name');
    if (!Object.hasOwn(fields, key.value)) throw new Error(`unknown field ${JSON.stringify(key.value)}`);
    if (seen.has(key.value)) throw new Error(`duplicate field ${JSON.stringify(key.value)}`);
    seen.set(key.value, value);
  }
  for (const [name, value] of seen) if (value.t === 'null') seen.delete(name);
  return seen;
}

function stringField(fields: Map<string, JsonNode>, name: string): string | null {
  const node = fields.get(name);
  if (node === undefined) return null;
  if (node.t !== 'string') throw new Error(`${name}: expected a string, got ${node.t}`);
  if (invalidText(node.text)) throw new Error(`${name}: invalid UTF-8`);
  return node.text.value;
}

function uint64Field(fields: Map<string, JsonNode>, name: string): bigint {
  const node = fields.get(name);
  if (node === undefined) return 0n;
  const value = node.t === 'number' ? protoUint64(node.literal) : node.t === 'string' && node.text.valid ? uint64FromString(node.text.value) : null;
  if (value === null) throw new Error(`${name}: invalid uint64 ${node.t === 'number' ? node.literal : node.t}`);
  return value;
}

/** A stored submission as protojson.Unmarshal reads it, or why it refuses it. */
export function parseSnapshotSubmission(data: Uint8Array): Parsed<SnapshotSubmission> {
  const parsed = parseJson(data);
  if (!parsed.ok) return parsed;
  try {
    const fields = readMessage(parsed.value, SUBMISSION_FIELDS);
    const requestNode = fields.get('request');
    let request: SubmissionRequest | null = null;
    if (requestNode !== undefined) {
      const r = readMessage(requestNode, REQUEST_FIELDS);
      request = {
        slotId: uint64Field(r, 'slotId'),
        deadline: uint64Field(r, 'deadline'),
        snapshotCid: stringField(r, 'snapshotCid') ?? '',
        epochId: uint64Field(r, 'epochId'),
        projectId: stringField(r, 'projectId') ?? '',
      };
    }
    return {
      ok: true,
      value: {
        request,
        signature: stringField(fields, 'signature') ?? '',
        header: stringField(fields, 'header') ?? '',
        dataMarket: stringField(fields, 'dataMarket') ?? '',
        nodeVersion: stringField(fields, 'nodeVersion'),
      },
    };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}
