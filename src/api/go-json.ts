/**
 * Go's encoding/json as the upstream read API uses it (Go 1.23, upstream's toolchain), so that
 * the same bytes get the same answer, error texts included. Pure.
 *
 * - `decodeFirstValue`: `json.NewDecoder(r.Body).Decode(&request)`, how every upstream handler
 *   reads its body. Only the first JSON value is read (what follows it is ignored); an empty body
 *   is `EOF`, a cut-off one `unexpected EOF`, bad syntax Go's `invalid character … ` text.
 * - `unmarshal`: `json.Unmarshal`, how upstream reads JSON stored in Redis: the whole text must
 *   be one value.
 * - Both then decode into a Go type (`GoType`): object keys match a struct field exactly or else
 *   case-insensitively (Go's folding: `slotid` and `SLOTID` are `slotID`), unknown keys and
 *   `null` are ignored, a value of the wrong type leaves the field as it was and fails the whole
 *   decoding with the first such error (`json: cannot unmarshal string into Go struct field
 *   SubmissionsRequest.slotID of type int`), an `int` takes only an integer literal within int64.
 * - `parseJson`: the value as a tree with strings decoded as Go does (each invalid UTF-8 byte and
 *   each lone surrogate escape becomes U+FFFD), flagged where protojson would refuse them.
 * - `encodeGo`: json.Marshal's text for answers (HTML-safe escaping, map keys sorted).
 *
 * Source: Go 1.23 src/encoding/json/{scanner.go,decode.go,stream.go,fold.go}; the scanner below is
 * a transcription of scanner.go's state machine, messages included.
 */
import { compareCodePoints, goJsonString } from '../domain/gojson.js';

// ---------------------------------------------------------------------------------------------
// Go types and the values they decode to
// ---------------------------------------------------------------------------------------------

/** Go `int` (64 bits): decodes to a bigint. */
export interface GoInt {
  readonly kind: 'int';
}
/** Go `string`. */
export interface GoString {
  readonly kind: 'string';
}
/** A Go struct; `fields` maps each JSON name (the field's tag) to its type, in declaration order. */
export interface GoStruct<F extends Record<string, GoType> = Record<string, GoType>> {
  readonly kind: 'struct';
  /** The package-qualified name, e.g. `service.SubmissionsRequest`: Go's error texts show it. */
  readonly qualifiedName: string;
  readonly fields: F;
}
/** `map[string]T`: decodes to a Map, or null. */
export interface GoMap<E extends GoType = GoType> {
  readonly kind: 'map';
  readonly elem: E;
  /** The package-qualified name of a named map type (`type X map[string]T`), as error texts show it. */
  readonly qualifiedName?: string;
}
/** `[]T`: decodes to an array, or null. */
export interface GoSlice<E extends GoType = GoType> {
  readonly kind: 'slice';
  readonly elem: E;
}
/** `*T`: decodes to the value, or null. */
export interface GoPtr<E extends GoType = GoType> {
  readonly kind: 'ptr';
  readonly elem: E;
}
export type GoType = GoInt | GoString | GoStruct | GoMap | GoSlice | GoPtr;

/** The JS value a Go type decodes to (Go's zero values: 0n, '', null for maps, slices and pointers). */
export type GoValue<T extends GoType> = T extends GoInt
  ? bigint
  : T extends GoString
    ? string
    : T extends GoStruct<infer F>
      ? { -readonly [K in keyof F]: GoValue<F[K]> }
      : T extends GoMap<infer E>
        ? Map<string, GoValue<E>> | null
        : T extends GoSlice<infer E>
          ? Array<GoValue<E>> | null
          : T extends GoPtr<infer E>
            ? GoValue<E> | null
            : never;

export const goInt: GoInt = { kind: 'int' };
export const goString: GoString = { kind: 'string' };
export const goStruct = <F extends Record<string, GoType>>(qualifiedName: string, fields: F): GoStruct<F> => ({ kind: 'struct', qualifiedName, fields });
export const goMap = <E extends GoType>(elem: E, qualifiedName?: string): GoMap<E> => ({ kind: 'map', elem, ...(qualifiedName ? { qualifiedName } : {}) });
export const goSlice = <E extends GoType>(elem: E): GoSlice<E> => ({ kind: 'slice', elem });
export const goPtr = <E extends GoType>(elem: E): GoPtr<E> => ({ kind: 'ptr', elem });

/** reflect.Type.String(), as error texts show types. */
function typeString(t: GoType): string {
  switch (t.kind) {
    case 'int':
    case 'string':
      return t.kind;
    case 'struct':
      return t.qualifiedName;
    case 'map':
      return t.qualifiedName ?? `map[string]${typeString(t.elem)}`;
    case 'slice':
      return `[]${typeString(t.elem)}`;
    case 'ptr':
      return `*${typeString(t.elem)}`;
  }
}

function zero(t: GoType): unknown {
  switch (t.kind) {
    case 'int':
      return 0n;
    case 'string':
      return '';
    case 'struct':
      return Object.fromEntries(Object.entries(t.fields).map(([name, type]) => [name, zero(type)]));
    default:
      return null;
  }
}

// ---------------------------------------------------------------------------------------------
// The scanner (scanner.go)
// ---------------------------------------------------------------------------------------------

const SCAN_CONTINUE = 0;
const SCAN_BEGIN_LITERAL = 1;
const SCAN_BEGIN_OBJECT = 2;
const SCAN_OBJECT_KEY = 3;
const SCAN_OBJECT_VALUE = 4;
const SCAN_END_OBJECT = 5;
const SCAN_BEGIN_ARRAY = 6;
const SCAN_ARRAY_VALUE = 7;
const SCAN_END_ARRAY = 8;
const SCAN_SKIP_SPACE = 9;
const SCAN_END = 10;
const SCAN_ERROR = 11;

const PARSE_OBJECT_KEY = 0;
const PARSE_OBJECT_VALUE = 1;
const PARSE_ARRAY_VALUE = 2;

const MAX_NESTING_DEPTH = 10_000;

type State = (s: Scanner, c: number) => number;

class Scanner {
  step: State = stateBeginValue;
  endTop = false;
  readonly parseState: number[] = [];
  err: string | null = null;

  error(c: number, context: string): number {
    this.step = stateError;
    this.err = `invalid character ${quoteChar(c)} ${context}`;
    return SCAN_ERROR;
  }

  pushParseState(c: number, newParseState: number, successState: number): number {
    this.parseState.push(newParseState);
    return this.parseState.length <= MAX_NESTING_DEPTH ? successState : this.error(c, 'exceeded max depth');
  }

  popParseState(): void {
    this.parseState.pop();
    if (this.parseState.length === 0) {
      this.step = stateEndTop;
      this.endTop = true;
    } else {
      this.step = stateEndValue;
    }
  }
}

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isHex = (c: number) => isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);

function stateBeginValueOrEmpty(s: Scanner, c: number): number {
  if (isSpace(c)) return SCAN_SKIP_SPACE;
  if (c === 0x5d) return stateEndValue(s, c);
  return stateBeginValue(s, c);
}

function stateBeginValue(s: Scanner, c: number): number {
  if (isSpace(c)) return SCAN_SKIP_SPACE;
  switch (c) {
    case 0x7b: // {
      s.step = stateBeginStringOrEmpty;
      return s.pushParseState(c, PARSE_OBJECT_KEY, SCAN_BEGIN_OBJECT);
    case 0x5b: // [
      s.step = stateBeginValueOrEmpty;
      return s.pushParseState(c, PARSE_ARRAY_VALUE, SCAN_BEGIN_ARRAY);
    case 0x22: // "
      s.step = stateInString;
      return SCAN_BEGIN_LITERAL;
    case 0x2d: // -
      s.step = stateNeg;
      return SCAN_BEGIN_LITERAL;
    case 0x30: // 0
      s.step = state0;
      return SCAN_BEGIN_LITERAL;
    case 0x74: // t
      s.step = stateT;
      return SCAN_BEGIN_LITERAL;
    case 0x66: // f
      s.step = stateF;
      return SCAN_BEGIN_LITERAL;
    case 0x6e: // n
      s.step = stateN;
      return SCAN_BEGIN_LITERAL;
  }
  if (c >= 0x31 && c <= 0x39) {
    s.step = state1;
    return SCAN_BEGIN_LITERAL;
  }
  return s.error(c, 'looking for beginning of value');
}

function stateBeginStringOrEmpty(s: Scanner, c: number): number {
  if (isSpace(c)) return SCAN_SKIP_SPACE;
  if (c === 0x7d) {
    s.parseState[s.parseState.length - 1] = PARSE_OBJECT_VALUE;
    return stateEndValue(s, c);
  }
  return stateBeginString(s, c);
}

function stateBeginString(s: Scanner, c: number): number {
  if (isSpace(c)) return SCAN_SKIP_SPACE;
  if (c === 0x22) {
    s.step = stateInString;
    return SCAN_BEGIN_LITERAL;
  }
  return s.error(c, 'looking for beginning of object key string');
}

function stateEndValue(s: Scanner, c: number): number {
  const n = s.parseState.length;
  if (n === 0) {
    s.step = stateEndTop;
    s.endTop = true;
    return stateEndTop(s, c);
  }
  if (isSpace(c)) {
    s.step = stateEndValue;
    return SCAN_SKIP_SPACE;
  }
  switch (s.parseState[n - 1]) {
    case PARSE_OBJECT_KEY:
      if (c === 0x3a) {
        s.parseState[n - 1] = PARSE_OBJECT_VALUE;
        s.step = stateBeginValue;
        return SCAN_OBJECT_KEY;
      }
      return s.error(c, 'after object key');
    case PARSE_OBJECT_VALUE:
      if (c === 0x2c) {
        s.parseState[n - 1] = PARSE_OBJECT_KEY;
        s.step = stateBeginString;
        return SCAN_OBJECT_VALUE;
      }
      if (c === 0x7d) {
        s.popParseState();
        return SCAN_END_OBJECT;
      }
      return s.error(c, 'after object key:value pair');
    case PARSE_ARRAY_VALUE:
      if (c === 0x2c) {
        s.step = stateBeginValue;
        return SCAN_ARRAY_VALUE;
      }
      if (c === 0x5d) {
        s.popParseState();
        return SCAN_END_ARRAY;
      }
      return s.error(c, 'after array element');
  }
  return s.error(c, '');
}

function stateEndTop(s: Scanner, c: number): number {
  // Complains about a non-space byte on the next call, as Go does.
  if (!isSpace(c)) s.error(c, 'after top-level value');
  return SCAN_END;
}

function stateInString(s: Scanner, c: number): number {
  if (c === 0x22) {
    s.step = stateEndValue;
    return SCAN_CONTINUE;
  }
  if (c === 0x5c) {
    s.step = stateInStringEsc;
    return SCAN_CONTINUE;
  }
  if (c < 0x20) return s.error(c, 'in string literal');
  return SCAN_CONTINUE;
}

function stateInStringEsc(s: Scanner, c: number): number {
  switch (c) {
    case 0x62: // b
    case 0x66: // f
    case 0x6e: // n
    case 0x72: // r
    case 0x74: // t
    case 0x5c: // \
    case 0x2f: // /
    case 0x22: // "
      s.step = stateInString;
      return SCAN_CONTINUE;
    case 0x75: // u
      s.step = stateInStringEscU[0]!;
      return SCAN_CONTINUE;
  }
  return s.error(c, 'in string escape code');
}

/** The states after `\u` and none, one, two and three of its hex digits (Go has a function for each). */
const stateInStringEscU: State[] = [1, 2, 3, 4].map((digit) => (s: Scanner, c: number) => {
  if (!isHex(c)) return s.error(c, 'in \\u hexadecimal character escape');
  s.step = digit === 4 ? stateInString : stateInStringEscU[digit]!;
  return SCAN_CONTINUE;
});

function stateNeg(s: Scanner, c: number): number {
  if (c === 0x30) {
    s.step = state0;
    return SCAN_CONTINUE;
  }
  if (c >= 0x31 && c <= 0x39) {
    s.step = state1;
    return SCAN_CONTINUE;
  }
  return s.error(c, 'in numeric literal');
}

function state1(s: Scanner, c: number): number {
  if (isDigit(c)) {
    s.step = state1;
    return SCAN_CONTINUE;
  }
  return state0(s, c);
}

function state0(s: Scanner, c: number): number {
  if (c === 0x2e) {
    s.step = stateDot;
    return SCAN_CONTINUE;
  }
  if (c === 0x65 || c === 0x45) {
    s.step = stateE;
    return SCAN_CONTINUE;
  }
  return stateEndValue(s, c);
}

function stateDot(s: Scanner, c: number): number {
  if (isDigit(c)) {
    s.step = stateDot0;
    return SCAN_CONTINUE;
  }
  return s.error(c, 'after decimal point in numeric literal');
}

function stateDot0(s: Scanner, c: number): number {
  if (isDigit(c)) return SCAN_CONTINUE;
  if (c === 0x65 || c === 0x45) {
    s.step = stateE;
    return SCAN_CONTINUE;
  }
  return stateEndValue(s, c);
}

function stateE(s: Scanner, c: number): number {
  if (c === 0x2b || c === 0x2d) {
    s.step = stateESign;
    return SCAN_CONTINUE;
  }
  return stateESign(s, c);
}

function stateESign(s: Scanner, c: number): number {
  if (isDigit(c)) {
    s.step = stateE0;
    return SCAN_CONTINUE;
  }
  return s.error(c, 'in exponent of numeric literal');
}

function stateE0(s: Scanner, c: number): number {
  if (isDigit(c)) return SCAN_CONTINUE;
  return stateEndValue(s, c);
}

/** The states inside `true`, `false` and `null` after their first letter. */
function literalStates(word: string): State {
  const states: State[] = [];
  for (let i = 1; i < word.length; i++) {
    const expected = word.charCodeAt(i);
    states.push((s, c) => {
      if (c !== expected) return s.error(c, `in literal ${word} (expecting '${word[i]}')`);
      s.step = i === word.length - 1 ? stateEndValue : states[i]!;
      return SCAN_CONTINUE;
    });
  }
  return states[0]!;
}
const stateT = literalStates('true');
const stateF = literalStates('false');
const stateN = literalStates('null');

function stateError(): number {
  return SCAN_ERROR;
}

/** How Go's scanner quotes the offending byte (quoteChar: strconv.Quote of the byte as a rune). */
export function quoteChar(c: number): string {
  if (c === 0x27) return `'\\''`;
  if (c === 0x22) return `'"'`;
  const named: Record<number, string> = { 0x07: '\\a', 0x08: '\\b', 0x0c: '\\f', 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t', 0x0b: '\\v', 0x5c: '\\\\' };
  if (named[c] !== undefined) return `'${named[c]}'`;
  if (c < 0x20 || c === 0x7f) return `'\\x${c.toString(16).padStart(2, '0')}'`;
  // A byte above 0x7f is shown as the rune of that number: U+0080..U+00A0 and the soft hyphen
  // are not printable for strconv, the rest of Latin-1 is.
  if ((c >= 0x80 && c <= 0xa0) || c === 0xad) return `'\\u${c.toString(16).padStart(4, '0')}'`;
  return `'${String.fromCharCode(c)}'`;
}

// ---------------------------------------------------------------------------------------------
// Parsing: the scanner's opcodes build a tree
// ---------------------------------------------------------------------------------------------

/** A JSON string as Go decodes it. */
export interface JsonText {
  value: string;
  /** False when it held invalid UTF-8 or a lone surrogate escape (Go writes U+FFFD; protojson refuses it). */
  valid: boolean;
}

export type JsonNode =
  | { t: 'object'; entries: Array<[key: JsonText, value: JsonNode]> }
  | { t: 'array'; items: JsonNode[] }
  | { t: 'string'; text: JsonText }
  | { t: 'number'; literal: string }
  | { t: 'bool'; value: boolean }
  | { t: 'null' };

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** Builds the tree from the scanner's opcodes, as Go's decodeState follows them. */
class TreeBuilder {
  private readonly stack: Array<{ node: { t: 'object'; entries: Array<[JsonText, JsonNode]> } | { t: 'array'; items: JsonNode[] }; key: JsonText | null }> = [];
  private literalStart = -1;
  root: JsonNode | null = null;

  constructor(private readonly data: Uint8Array) {}

  /** The opcode the scanner returned for byte `i` (or for the space it is fed at the end). */
  op(code: number, i: number): void {
    // A literal ends at the first byte that is not part of it.
    if (this.literalStart >= 0 && code !== SCAN_CONTINUE) {
      this.literal(literalNode(this.data.subarray(this.literalStart, i)));
      this.literalStart = -1;
    }
    switch (code) {
      case SCAN_BEGIN_LITERAL:
        this.literalStart = i;
        break;
      case SCAN_BEGIN_OBJECT:
        this.stack.push({ node: { t: 'object', entries: [] }, key: null });
        break;
      case SCAN_BEGIN_ARRAY:
        this.stack.push({ node: { t: 'array', items: [] }, key: null });
        break;
      case SCAN_END_OBJECT:
      case SCAN_END_ARRAY:
        this.attach(this.stack.pop()!.node);
        break;
    }
  }

  private literal(node: JsonNode): void {
    const top = this.stack[this.stack.length - 1];
    if (top?.node.t === 'object' && top.key === null && node.t === 'string') top.key = node.text;
    else this.attach(node);
  }

  private attach(node: JsonNode): void {
    const top = this.stack[this.stack.length - 1];
    if (!top) this.root = node;
    else if (top.node.t === 'object') {
      top.node.entries.push([top.key!, node]);
      top.key = null;
    } else top.node.items.push(node);
  }
}

function literalNode(bytes: Uint8Array): JsonNode {
  switch (bytes[0]) {
    case 0x22:
      return { t: 'string', text: unquote(bytes.subarray(1, bytes.length - 1)) };
    case 0x74:
      return { t: 'bool', value: true };
    case 0x66:
      return { t: 'bool', value: false };
    case 0x6e:
      return { t: 'null' };
    default:
      return { t: 'number', literal: String.fromCharCode(...bytes) };
  }
}

/**
 * The first JSON value of `data`, as json.Decoder.Decode reads it from a request body (stream.go
 * readValue): the bytes after it are never looked at.
 */
export function parseFirstValue(data: Uint8Array): Parsed<JsonNode> {
  const s = new Scanner();
  const tree = new TreeBuilder(data);
  for (let i = 0; i < data.length; i++) {
    const code = s.step(s, data[i]!);
    if (code === SCAN_ERROR) return { ok: false, error: s.err! };
    tree.op(code, i);
    if (code === SCAN_END) return { ok: true, value: tree.root! };
    // An object or array ends the value at once: the decoder does not wait for the next byte.
    if ((code === SCAN_END_OBJECT || code === SCAN_END_ARRAY) && stateEndValue(s, 0x20) === SCAN_END) return { ok: true, value: tree.root! };
  }
  const code = s.step(s, 0x20);
  if (code === SCAN_END) {
    tree.op(code, data.length);
    return { ok: true, value: tree.root! };
  }
  return { ok: false, error: data.some((c) => !isSpace(c)) ? 'unexpected EOF' : 'EOF' };
}

/** `data` as one JSON value with nothing but white space around it (json.Unmarshal's checkValid). */
export function parseJson(data: Uint8Array): Parsed<JsonNode> {
  const s = new Scanner();
  const tree = new TreeBuilder(data);
  for (let i = 0; i < data.length; i++) {
    const code = s.step(s, data[i]!);
    if (code === SCAN_ERROR) return { ok: false, error: s.err! };
    tree.op(code, i);
  }
  // scanner.eof()
  if (s.err !== null) return { ok: false, error: s.err };
  if (!s.endTop) {
    tree.op(s.step(s, 0x20), data.length);
    if (!s.endTop) return { ok: false, error: s.err ?? 'unexpected end of JSON input' };
  }
  return { ok: true, value: tree.root! };
}

// ---------------------------------------------------------------------------------------------
// Strings (decode.go unquote)
// ---------------------------------------------------------------------------------------------

/** utf8.DecodeRune: the code point at `i` and its length; (U+FFFD, 1) for an invalid sequence. */
function decodeRune(b: Uint8Array, i: number): [codePoint: number, size: number] {
  const c0 = b[i]!;
  if (c0 < 0x80) return [c0, 1];
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < b.length && b[i + k]! >= lo && b[i + k]! <= hi;
  if (c0 >= 0xc2 && c0 <= 0xdf && cont(1)) return [((c0 & 0x1f) << 6) | (b[i + 1]! & 0x3f), 2];
  if (c0 >= 0xe0 && c0 <= 0xef) {
    const [lo, hi] = c0 === 0xe0 ? [0xa0, 0xbf] : c0 === 0xed ? [0x80, 0x9f] : [0x80, 0xbf];
    if (cont(1, lo, hi) && cont(2)) return [((c0 & 0x0f) << 12) | ((b[i + 1]! & 0x3f) << 6) | (b[i + 2]! & 0x3f), 3];
  }
  if (c0 >= 0xf0 && c0 <= 0xf4) {
    const [lo, hi] = c0 === 0xf0 ? [0x90, 0xbf] : c0 === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
    if (cont(1, lo, hi) && cont(2) && cont(3)) return [((c0 & 0x07) << 18) | ((b[i + 1]! & 0x3f) << 12) | ((b[i + 2]! & 0x3f) << 6) | (b[i + 3]! & 0x3f), 4];
  }
  return [0xfffd, 1];
}

function hex4(b: Uint8Array, i: number): number {
  if (b[i] !== 0x5c || b[i + 1] !== 0x75 || i + 6 > b.length) return -1;
  const text = String.fromCharCode(b[i + 2]!, b[i + 3]!, b[i + 4]!, b[i + 5]!);
  return /^[0-9a-fA-F]{4}$/.test(text) ? parseInt(text, 16) : -1;
}

const ESCAPES: Record<number, number> = { 0x22: 0x22, 0x5c: 0x5c, 0x2f: 0x2f, 0x27: 0x27, 0x62: 0x08, 0x66: 0x0c, 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09 };

/** The contents of a string literal (between its quotes, already checked by the scanner). */
function unquote(b: Uint8Array): JsonText {
  const codePoints: number[] = [];
  let valid = true;
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    if (c === 0x5c) {
      const escaped = b[i + 1]!;
      if (escaped !== 0x75) {
        codePoints.push(ESCAPES[escaped]!);
        i += 2;
        continue;
      }
      const unit = hex4(b, i);
      i += 6;
      if (unit >= 0xd800 && unit <= 0xdfff) {
        const low = hex4(b, i);
        if (unit <= 0xdbff && low >= 0xdc00 && low <= 0xdfff) {
          codePoints.push(0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00));
          i += 6;
        } else {
          // A lone surrogate: U+FFFD, and the next escape (if any) is read on its own.
          codePoints.push(0xfffd);
          valid = false;
        }
        continue;
      }
      codePoints.push(unit);
      continue;
    }
    const [codePoint, size] = decodeRune(b, i);
    if (codePoint === 0xfffd && size === 1) valid = false;
    codePoints.push(codePoint);
    i += size;
  }
  let value = '';
  for (let i = 0; i < codePoints.length; i += 4096) value += String.fromCodePoint(...codePoints.slice(i, i + 4096));
  return { value, valid };
}

// ---------------------------------------------------------------------------------------------
// Decoding into Go types (decode.go)
// ---------------------------------------------------------------------------------------------

/**
 * A name as Go folds it for case-insensitive key matching (fold.go foldName): ASCII letters in
 * upper case, and the two non-ASCII runes whose case fold set holds an ASCII letter (U+017F ſ
 * with s, U+212A Kelvin sign with k) as that letter. Field names are ASCII, so no other rune can
 * match one (Go's tables keep İ and ı out of i's set).
 */
function fold(name: string): string {
  let out = '';
  for (const ch of name) {
    const c = ch.codePointAt(0)!;
    if (c >= 0x61 && c <= 0x7a) out += String.fromCharCode(c - 0x20);
    else if (c === 0x17f) out += 'S';
    else if (c === 0x212a) out += 'K';
    else out += ch;
  }
  return out;
}

/** Walks the tree as decodeState walks the bytes, into values of Go types. */
class GoDecoder {
  /** The first type error: Go keeps decoding and returns it at the end. */
  saved: string | null = null;
  /** Go's errorContext: the struct whose field is being decoded, and the JSON field path. */
  private struct: GoStruct | null = null;
  private readonly fieldStack: string[] = [];

  private typeError(what: string, t: GoType): void {
    if (this.saved !== null) return;
    this.saved =
      this.struct !== null
        ? `json: cannot unmarshal ${what} into Go struct field ${this.struct.qualifiedName.replace(/^.*\./, '')}.${this.fieldStack.join('.')} of type ${typeString(t)}`
        : `json: cannot unmarshal ${what} into Go value of type ${typeString(t)}`;
  }

  /** Decodes `node` into a value of type `t` that currently holds `current`; returns the new value. */
  value(t: GoType, node: JsonNode, current: unknown): unknown {
    if (t.kind === 'ptr') {
      // null sets the pointer to nil; anything else is decoded into what it points to (allocated if nil).
      if (node.t === 'null') return null;
      return this.value(t.elem, node, current ?? zero(t.elem));
    }
    switch (node.t) {
      case 'object':
        return this.object(t, node.entries, current);
      case 'array':
        return this.array(t, node.items, current);
      case 'null':
        // null empties a map or slice and leaves anything else as it was.
        return t.kind === 'map' || t.kind === 'slice' ? null : current;
      case 'bool':
        this.typeError('bool', t);
        return current;
      case 'string':
        if (t.kind === 'string') return node.text.value;
        this.typeError('string', t);
        return current;
      case 'number': {
        if (t.kind !== 'int') {
          this.typeError('number', t);
          return current;
        }
        // strconv.ParseInt(literal, 10, 64): no fraction, no exponent, within int64.
        const n = /^-?[0-9]+$/.test(node.literal) ? BigInt(node.literal) : null;
        if (n === null || n !== BigInt.asIntN(64, n)) {
          this.typeError(`number ${node.literal}`, t);
          return current;
        }
        return n;
      }
    }
  }

  private object(t: GoType, entries: Array<[JsonText, JsonNode]>, current: unknown): unknown {
    if (t.kind === 'map') {
      const map = (current as Map<string, unknown> | null) ?? new Map<string, unknown>();
      // Each key's value is decoded into a fresh zero value; a repeated key replaces the earlier one.
      for (const [key, node] of entries) map.set(key.value, this.value(t.elem, node, zero(t.elem)));
      return map;
    }
    if (t.kind !== 'struct') {
      this.typeError('object', t);
      return current;
    }
    const out = { ...(current as Record<string, unknown>) };
    const names = Object.keys(t.fields);
    const outer = { struct: this.struct, depth: this.fieldStack.length };
    for (const [key, node] of entries) {
      const name = names.find((n) => n === key.value) ?? names.find((n) => fold(n) === fold(key.value));
      if (name === undefined) continue; // unknown keys are skipped
      this.fieldStack.push(name);
      this.struct = t;
      out[name] = this.value(t.fields[name]!, node, out[name]);
      this.fieldStack.length = outer.depth;
      this.struct = outer.struct;
    }
    return out;
  }

  private array(t: GoType, items: JsonNode[], current: unknown): unknown {
    if (t.kind !== 'slice') {
      this.typeError('array', t);
      return current;
    }
    // Existing elements are decoded into (Go reuses them), the rest start from zero; an empty
    // array gives an empty slice, not nil.
    const old = (current as unknown[] | null) ?? [];
    return items.map((node, i) => this.value(t.elem, node, i < old.length ? old[i] : zero(t.elem)));
  }
}

function decodeInto<T extends GoType>(parsed: Parsed<JsonNode>, t: T): Parsed<GoValue<T>> {
  if (!parsed.ok) return parsed;
  const decoder = new GoDecoder();
  const value = decoder.value(t, parsed.value, zero(t));
  return decoder.saved === null ? { ok: true, value: value as GoValue<T> } : { ok: false, error: decoder.saved };
}

/** `json.NewDecoder(body).Decode(&v)` with v of type `t`: the error text is what upstream answers with 400. */
export function decodeFirstValue<T extends GoType>(body: Uint8Array, t: T): Parsed<GoValue<T>> {
  return decodeInto(parseFirstValue(body), t);
}

/** `json.Unmarshal(data, &v)` with v of type `t`. */
export function unmarshal<T extends GoType>(data: Uint8Array, t: T): Parsed<GoValue<T>> {
  return decodeInto(parseJson(data), t);
}

// ---------------------------------------------------------------------------------------------
// Encoding (json.Marshal)
// ---------------------------------------------------------------------------------------------

/**
 * What `encodeGo` writes: an object's keys in their order (a Go struct's fields), a Map's keys
 * sorted as Go sorts map keys, bigints and numbers as integers.
 */
export type GoJson = string | bigint | number | boolean | null | readonly GoJson[] | ReadonlyMap<string, GoJson> | { readonly [key: string]: GoJson };

/** json.Marshal's text of `value` (see src/domain/gojson.ts for the escaping). */
export function encodeGo(value: GoJson): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return goJsonString(value);
    case 'bigint':
      return value.toString();
    case 'number':
      if (!Number.isSafeInteger(value)) throw new Error(`encodeGo: ${value} is no integer`);
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
  }
  if (Array.isArray(value)) return `[${(value as readonly GoJson[]).map(encodeGo).join(',')}]`;
  if (value instanceof Map) {
    const keys = [...(value as ReadonlyMap<string, GoJson>).keys()].sort(compareCodePoints);
    return `{${keys.map((k) => `${goJsonString(k)}:${encodeGo(value.get(k)!)}`).join(',')}}`;
  }
  return `{${Object.entries(value as { readonly [key: string]: GoJson }).map(([k, v]) => `${goJsonString(k)}:${encodeGo(v)}`).join(',')}}`;
}
