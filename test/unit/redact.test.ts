import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redact } from '../../src/domain/redact.js';

test('a token is removed as written raw and in every JSON escaping a relayer may echo it in', () => {
  const token = 'tok<"é">';
  const echoes = [
    'tok<"é">', // raw, e.g. in a plain-text message
    'tok\\u003c\\"é\\"\\u003e', // as we sent it: Go's encoding/json
    'tok<\\"é\\">', // JSON.stringify, or Python with ensure_ascii=False
    'tok<\\"\\u00e9\\">', // Python's json.dumps default
  ];
  assert.equal(redact(`answer: ${echoes.join(' | ')}.`, token), 'answer: [redacted] | [redacted] | [redacted] | [redacted].');
});

test('text without the token is left as it is', () => {
  assert.equal(redact('{"message":"Invalid request payload!"}', 'sekret'), '{"message":"Invalid request payload!"}');
});
