/**
 * Removing a secret from text we log or put in a failure (workflow history). A relayer that
 * refuses a body may echo it, `authToken` included, in any JSON dialect: the token is removed as
 * it is written raw, as we sent it (Go's escaping), as JSON.stringify writes it and as Python's
 * json.dumps does by default (every non-ASCII character as \uXXXX). Pure.
 */
import { goJsonString } from './gojson.js';

export const REDACTED = '[redacted]';

export function redact(text: string, secret: string): string {
  const json = JSON.stringify(secret).slice(1, -1);
  const asciiJson = json.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  // Longest first: a shorter form inside a longer one must not leave the rest of the longer behind.
  const forms = [...new Set([secret, goJsonString(secret).slice(1, -1), json, asciiJson])].sort((a, b) => b.length - a.length);
  return forms.reduce((out, form) => out.split(form).join(REDACTED), text);
}
