import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FAST_POLL_MS, FAST_POLL_SPAN_MS, msUntilNextWindowPoll, msUntilWindowCloses, windowClosesAtMs } from '../../src/domain/window.js';
import type { BlockHeader } from '../../src/chain/rpc.js';
import { extendedBy } from '../../src/follower/window.js';

// A fixed "now", 2023-11-14T22:13:20.250Z, with a sub-second part.
const NOW_MS = 1_700_000_000_250;
const NOW_SEC = 1_700_000_000;

describe('msUntilWindowCloses', () => {
  test('release a little in the past: the rest of the window remains', () => {
    // Released 10 s (and 250 ms) ago, window 60 s: 49.75 s left.
    assert.equal(msUntilWindowCloses(NOW_SEC - 10, 60, NOW_MS), 49_750);
  });

  test('release exactly now (whole second): the full window remains', () => {
    assert.equal(msUntilWindowCloses(NOW_SEC, 30, NOW_SEC * 1000), 30_000);
  });

  test('release just before the window ends: 1 ms remains', () => {
    // Opens at NOW_SEC - 20 s and closes 20 s later, at NOW_SEC * 1000; now is 1 ms before that.
    assert.equal(msUntilWindowCloses(NOW_SEC - 20, 20, NOW_SEC * 1000 - 1), 1);
  });

  test('release exactly one window ago: 0', () => {
    assert.equal(msUntilWindowCloses(NOW_SEC - 60, 60, NOW_SEC * 1000), 0);
  });

  test('release long ago (collector catching up): 0, never negative', () => {
    assert.equal(msUntilWindowCloses(NOW_SEC - 86_400, 60, NOW_MS), 0);
  });

  test('chain clock ahead of ours: exactly the window length, never more', () => {
    assert.equal(msUntilWindowCloses(NOW_SEC + 3600, 45, NOW_MS), 45_000);
    assert.equal(msUntilWindowCloses(NOW_SEC + 1, 45, NOW_MS), 45_000);
  });

  test('window 0: 0, whatever the release time', () => {
    assert.equal(msUntilWindowCloses(NOW_SEC, 0, NOW_SEC * 1000), 0);
    assert.equal(msUntilWindowCloses(NOW_SEC - 5, 0, NOW_MS), 0);
    assert.equal(msUntilWindowCloses(NOW_SEC + 5, 0, NOW_MS), 0);
  });
});

describe('windowClosesAtMs', () => {
  test('release timestamp in seconds plus the window', () => {
    assert.equal(windowClosesAtMs(NOW_SEC - 10, 60, NOW_MS), (NOW_SEC + 50) * 1000);
  });

  test('a future release is clamped to now', () => {
    assert.equal(windowClosesAtMs(NOW_SEC + 100, 60, NOW_MS), NOW_MS + 60_000);
  });
});

describe('msUntilNextWindowPoll', () => {
  const END_SEC = 1_700_000_000;
  const DUE_MS = (END_SEC + 1) * 1000;

  test('before the closing block can exist: until it is due, at most a poll interval', () => {
    assert.equal(msUntilNextWindowPoll(END_SEC, DUE_MS - 300, 1000), 300);
    assert.equal(msUntilNextWindowPoll(END_SEC, DUE_MS - 5000, 1000), 1000);
  });

  test('once it is due: every FAST_POLL_MS for FAST_POLL_SPAN_MS', () => {
    assert.equal(msUntilNextWindowPoll(END_SEC, DUE_MS, 1000), FAST_POLL_MS);
    assert.equal(msUntilNextWindowPoll(END_SEC, DUE_MS + FAST_POLL_SPAN_MS - 1, 1000), FAST_POLL_MS);
  });

  test('after that span: the poll interval again', () => {
    assert.equal(msUntilNextWindowPoll(END_SEC, DUE_MS + FAST_POLL_SPAN_MS, 1000), 1000);
  });

  test('a poll interval shorter than FAST_POLL_MS is kept', () => {
    assert.equal(msUntilNextWindowPoll(END_SEC, DUE_MS + 10, 20), 20);
  });

  test('never 0: a wait ends at least 1 ms later', () => {
    assert.equal(msUntilNextWindowPoll(END_SEC, DUE_MS - 0.5, 1000), 1);
  });
});

describe('extendedBy (the window headers of the last poll under a new head)', () => {
  const header = (number: number, hash: string, parentHash: string): BlockHeader => ({ number, hash, parentHash, timestamp: 1000 + number, logsBloom: '0x' + '00'.repeat(256) });
  const known = [header(10, '0xa10', '0xa09'), header(11, '0xa11', '0xa10')];

  test('none read yet: null (read from the release block)', () => {
    assert.equal(extendedBy(null, header(11, '0xa11', '0xa10')), null);
  });

  test('the head is their last block: the same headers', () => {
    assert.deepEqual(extendedBy(known, header(11, '0xa11', '0xa10')), known);
  });

  test('the head is the next block and links to them: one more', () => {
    const head = header(12, '0xa12', '0xa11');
    assert.deepEqual(extendedBy(known, head), [...known, head]);
  });

  test('a reorg at the tip (same height, another hash): null', () => {
    assert.equal(extendedBy(known, header(11, '0xb11', '0xa10')), null);
  });

  test('the next block on another parent: null', () => {
    assert.equal(extendedBy(known, header(12, '0xb12', '0xb11')), null);
  });

  test('several new blocks at once: null', () => {
    assert.equal(extendedBy(known, header(13, '0xa13', '0xa12')), null);
  });

  test('a head below them (a lagging node that passed the floor): null', () => {
    assert.equal(extendedBy(known, header(10, '0xa10', '0xa09')), null);
  });
});
