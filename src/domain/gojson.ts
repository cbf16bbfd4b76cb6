/**
 * JSON text byte for byte as Go's encoding/json writes it (json.Marshal, Go ≥ 1.22), for every
 * payload a Go neighbour reads or compares: finalizer and attestor messages, relayer bodies.
 * It differs from JSON.stringify in what it escapes: `<`, `>` and `&` as \u003c, \u003e, \u0026
 * (HTML-safe escaping is on in json.Marshal), U+2028 and U+2029 as \u2028 and \u2029, and a
 * lone surrogate (which UTF-8 cannot hold: invalid bytes in Go) as \ufffd. Pure.
 */

const HEX = '0123456789abcdef';
/** Strings with nothing to escape, the usual case, take the fast path. */
const PLAIN = /^[^"\\\u0000-\u001f<>&\u2028\u2029\ud800-\udfff]*$/;

/**
 * The JSON string literals of `values`, comma-separated (a JSON array's inside). Plain values
 * (the usual case) are checked and joined at once: the character class has no pairs, so a
 * concatenation is plain exactly when each value is.
 */
export function goJsonStrings(values: readonly string[]): string {
  if (values.length === 0) return '';
  return PLAIN.test(values.join('')) ? `"${values.join('","')}"` : values.map(goJsonString).join(',');
}

/** The JSON string literal of `value`, quotes included. */
export function goJsonString(value: string): string {
  if (PLAIN.test(value)) return `"${value}"`;
  let out = '"';
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    switch (c) {
      case 0x22:
        out += '\\"';
        break;
      case 0x5c:
        out += '\\\\';
        break;
      case 0x08:
        out += '\\b';
        break;
      case 0x0c:
        out += '\\f';
        break;
      case 0x0a:
        out += '\\n';
        break;
      case 0x0d:
        out += '\\r';
        break;
      case 0x09:
        out += '\\t';
        break;
      case 0x3c:
      case 0x3e:
      case 0x26:
      case 0x2028:
      case 0x2029:
        out += `\\u${c.toString(16).padStart(4, '0')}`;
        break;
      default:
        if (c < 0x20) out += `\\u00${HEX[c >> 4]}${HEX[c & 0xf]}`;
        else if (c >= 0xd800 && c <= 0xdbff && i + 1 < value.length && value.charCodeAt(i + 1) >= 0xdc00 && value.charCodeAt(i + 1) <= 0xdfff) {
          out += value[i]! + value[i + 1]!; // a surrogate pair: one character, written as is
          i++;
        } else if (c >= 0xd800 && c <= 0xdfff) out += '\\ufffd';
        else out += value[i]!;
    }
  }
  return `${out}"`;
}

/** Order of map keys in Go's JSON: by UTF-8 bytes, which is code point order (not UTF-16 unit order). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i++; // both are the same pair here
  }
  return a.length - b.length;
}
