// @vitest-environment node
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Job } from '../api/types';
import { openJobStream } from './eventStream';
import type { JobStreamOptions, StreamState } from './eventStream';
import { fakeFetch, flush, jobFrame, makeJob } from './testing';
import type { FakeFetch } from './testing';

interface Harness {
  ff: FakeFetch;
  jobs: Job[];
  snapshots: Job[][];
  states: StreamState[];
  poll: ReturnType<typeof vi.fn<() => Promise<void>>>;
  onUnauthorized: ReturnType<typeof vi.fn<() => void>>;
  stream: ReturnType<typeof openJobStream>;
}

function start(over: Partial<JobStreamOptions> = {}): Harness {
  const ff = fakeFetch();
  const h = {
    ff,
    jobs: [] as Job[],
    snapshots: [] as Job[][],
    states: [] as StreamState[],
    poll: vi.fn(() => Promise.resolve()),
    onUnauthorized: vi.fn(),
  };
  const stream = openJobStream({
    getToken: () => 'tok-123',
    onJob: (j) => h.jobs.push(j),
    onSnapshot: (js) => h.snapshots.push(js),
    onState: (s) => h.states.push(s),
    poll: h.poll,
    onUnauthorized: h.onUnauthorized,
    fetchImpl: ff.fetch,
    ...over,
  });
  return { ...h, stream };
}

/** The n-th request to the events URL (they are made asynchronously). */
function call(h: Harness, n: number) {
  const c = h.ff.streams[n];
  if (!c) throw new Error(`no request #${n} (only ${h.ff.streams.length})`);
  return c;
}

let harness: Harness | null = null;

beforeEach(() => {
  vi.useFakeTimers();
  // No jitter: every reconnect delay is the full backoff step.
  vi.spyOn(Math, 'random').mockReturnValue(1);
});

afterEach(() => {
  harness?.stream.close();
  harness = null;
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('openJobStream', () => {
  it('sends the token in a header, never in the URL', async () => {
    const h = (harness = start());
    await flush();
    const c = call(h, 0);
    expect(c.url).toBe('/api/ml/sync/events');
    expect(c.url).not.toContain('tok-123');
    expect(c.headers.authorization).toBe('Bearer tok-123');
    expect(c.headers.accept).toBe('text/event-stream');
    expect(c.headers['last-event-id']).toBeUndefined();
  });

  it('goes live once the response opens and parses events split across chunks', async () => {
    const h = (harness = start());
    await flush();
    expect(h.stream.state).toBe('connecting');
    call(h, 0).open();
    await flush();
    expect(h.stream.state).toBe('live');
    expect(h.states).toEqual(['live']);

    const a = makeJob({ id: 'a', processedItems: 10 });
    const b = makeJob({ id: 'b', status: 'queued' });
    const snapshot = `id: 7\nevent: snapshot\ndata: ${JSON.stringify({ jobs: [a, b] })}\n\n`;
    const text = `retry: 1000\n\n${snapshot}: keep-alive\n\n${jobFrame({ ...a, processedItems: 20 }, 8)}`;
    // Cut everywhere, even inside the JSON and the field names.
    for (const piece of [text.slice(0, 5), text.slice(5, 40), text.slice(40, 41), text.slice(41, 200), text.slice(200)]) {
      call(h, 0).push(piece);
      await flush();
    }
    expect(h.snapshots).toHaveLength(1);
    expect(h.snapshots[0]?.map((j) => j.id)).toEqual(['a', 'b']);
    expect(h.jobs).toHaveLength(1);
    expect(h.jobs[0]).toMatchObject({ id: 'a', processedItems: 20 });
  });

  it('ignores comments, unknown events and malformed data', async () => {
    const h = (harness = start());
    await flush();
    call(h, 0).open();
    await flush();
    call(h, 0).push(': keep-alive\n\n:another\n\nevent: other\ndata: {"id":"x"}\n\nevent: job\ndata: {not json\n\n');
    call(h, 0).push(jobFrame(makeJob({ id: 'ok' }), 1));
    await flush();
    expect(h.jobs.map((j) => j.id)).toEqual(['ok']);
    expect(h.snapshots).toEqual([]);
    expect(h.stream.state).toBe('live');
  });

  it('after the stream ends: reconnecting, polls at once and every 2 s, reconnects with Last-Event-ID, then stops polling', async () => {
    const h = (harness = start());
    await flush();
    call(h, 0).open();
    await flush();
    call(h, 0).push(jobFrame(makeJob({ id: 'a' }), 41));
    call(h, 0).push(jobFrame(makeJob({ id: 'b' }), 42));
    // The server sends a coalesced progress event without an id: Last-Event-ID stays 42.
    call(h, 0).push(jobFrame(makeJob({ id: 'a', processedItems: 5 })));
    await flush();
    expect(h.poll).not.toHaveBeenCalled();

    call(h, 0).end();
    await flush();
    expect(h.stream.state).toBe('reconnecting');
    expect(h.states).toEqual(['live', 'reconnecting']);
    expect(h.poll).toHaveBeenCalledTimes(1);

    // The first reconnect comes after 500 ms; leave it unanswered for a while.
    await vi.advanceTimersByTimeAsync(499);
    expect(h.ff.streams).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.ff.streams).toHaveLength(2);
    expect(call(h, 1).headers['last-event-id']).toBe('42');
    expect(call(h, 1).headers.authorization).toBe('Bearer tok-123');

    await vi.advanceTimersByTimeAsync(1500); // t = 2 s
    expect(h.poll).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(2000); // t = 4 s
    expect(h.poll).toHaveBeenCalledTimes(3);

    call(h, 1).open();
    await flush();
    expect(h.stream.state).toBe('live');
    call(h, 1).push(jobFrame(makeJob({ id: 'c', status: 'completed' }), 43));
    await flush();
    expect(h.jobs.map((j) => j.id)).toEqual(['a', 'b', 'a', 'c']);

    await vi.advanceTimersByTimeAsync(20_000);
    expect(h.poll).toHaveBeenCalledTimes(3);
    expect(h.ff.streams).toHaveLength(2);
  });

  it('never runs two polls at once', async () => {
    let finish: () => void = () => {};
    const poll = vi.fn(
      () =>
        new Promise<void>((resolve) => {
          finish = resolve;
        }),
    );
    const h = (harness = start({ poll, backoff: { initialMs: 60_000, maxMs: 60_000 } }));
    await flush();
    call(h, 0).fail();
    await flush();
    expect(poll).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(poll).toHaveBeenCalledTimes(1);
    finish();
    await flush();
    await vi.advanceTimersByTimeAsync(1999);
    expect(poll).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(poll).toHaveBeenCalledTimes(2);
  });

  it('keeps polling when a poll fails', async () => {
    const poll = vi.fn(() => Promise.reject(new Error('down')));
    const h = (harness = start({ poll, backoff: { initialMs: 60_000, maxMs: 60_000 } }));
    await flush();
    call(h, 0).fail();
    await flush();
    await vi.advanceTimersByTimeAsync(4000);
    expect(poll).toHaveBeenCalledTimes(3);
  });

  it('polls too when the first connection is slow to open', async () => {
    const h = (harness = start());
    await flush();
    await vi.advanceTimersByTimeAsync(1999);
    expect(h.poll).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(h.poll).toHaveBeenCalledTimes(1);
    call(h, 0).open();
    await flush();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(h.poll).toHaveBeenCalledTimes(1);
  });

  it('retries other errors with growing, capped backoff', async () => {
    const h = (harness = start({ backoff: { initialMs: 500, maxMs: 2000 } }));
    await flush();
    call(h, 0).open(503);
    await flush();
    expect(h.stream.state).toBe('reconnecting');
    const expected = [500, 1000, 2000, 2000]; // then capped
    for (const [i, delay] of expected.entries()) {
      await vi.advanceTimersByTimeAsync(delay - 1);
      expect(h.ff.streams).toHaveLength(i + 1);
      await vi.advanceTimersByTimeAsync(1);
      expect(h.ff.streams).toHaveLength(i + 2);
      call(h, i + 1).open(i % 2 === 0 ? 403 : 404);
      await flush();
    }
    expect(h.onUnauthorized).not.toHaveBeenCalled();
    // Failed reconnects keep the 2 s cadence of the polls (t = 5.5 s: polls at 0, 2 and 4 s).
    expect(h.poll).toHaveBeenCalledTimes(3);

    // A connection that delivers an event resets the backoff.
    await vi.advanceTimersByTimeAsync(2000);
    call(h, 5).open();
    await flush();
    call(h, 5).push(jobFrame(makeJob({ id: 'a' }), 1));
    await flush();
    call(h, 5).end();
    await flush();
    await vi.advanceTimersByTimeAsync(500);
    expect(h.ff.streams).toHaveLength(7);
  });

  it('backs off from a server that accepts and hangs up at once', async () => {
    const h = (harness = start({ backoff: { initialMs: 500, maxMs: 4000 } }));
    await flush();
    for (const [i, delay] of [500, 1000, 2000, 4000].entries()) {
      call(h, i).open();
      await flush();
      call(h, i).end();
      await flush();
      await vi.advanceTimersByTimeAsync(delay - 1);
      expect(h.ff.streams).toHaveLength(i + 1);
      await vi.advanceTimersByTimeAsync(1);
      expect(h.ff.streams).toHaveLength(i + 2);
    }
    // One that stays open a while (no event needed) counts as healthy.
    call(h, 4).open();
    await flush();
    await vi.advanceTimersByTimeAsync(5000);
    call(h, 4).end();
    await flush();
    await vi.advanceTimersByTimeAsync(500);
    expect(h.ff.streams).toHaveLength(6);
  });

  it('keeps the jitter between half and all of the backoff step', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const h = (harness = start());
    await flush();
    call(h, 0).fail();
    await flush();
    await vi.advanceTimersByTimeAsync(249);
    expect(h.ff.streams).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.ff.streams).toHaveLength(2);
  });

  it('stops for good on a 401', async () => {
    const h = (harness = start());
    await flush();
    call(h, 0).open(401);
    await flush();
    expect(h.onUnauthorized).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.ff.streams).toHaveLength(1);
    expect(h.poll).not.toHaveBeenCalled();
  });

  it('close() aborts the request and leaves no timer', async () => {
    const h = (harness = start());
    await flush();
    call(h, 0).open();
    await flush();
    h.stream.close();
    await flush();
    expect(call(h, 0).aborted).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.ff.streams).toHaveLength(1);
    expect(h.poll).not.toHaveBeenCalled();
    expect(h.states).toEqual(['live']);
  });

  it('close() while reconnecting stops the polls and the pending reconnect', async () => {
    const h = (harness = start());
    await flush();
    call(h, 0).fail();
    await flush();
    expect(h.poll).toHaveBeenCalledTimes(1);
    h.stream.close();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.poll).toHaveBeenCalledTimes(1);
    expect(h.ff.streams).toHaveLength(1);
  });

  it('reconnects when no byte arrives for the heartbeat timeout', async () => {
    const h = (harness = start({ heartbeatTimeoutMs: 45_000 }));
    await flush();
    call(h, 0).open();
    await flush();
    call(h, 0).push(jobFrame(makeJob({ id: 'a' }), 5));
    await flush();

    await vi.advanceTimersByTimeAsync(30_000);
    call(h, 0).push(': keep-alive\n\n'); // a heartbeat restarts the count
    await flush();
    await vi.advanceTimersByTimeAsync(44_000);
    expect(h.stream.state).toBe('live');
    expect(h.ff.streams).toHaveLength(1);

    await vi.advanceTimersByTimeAsync(1000);
    expect(call(h, 0).aborted).toBe(true);
    expect(h.stream.state).toBe('reconnecting');
    expect(h.poll).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(500);
    expect(h.ff.streams).toHaveLength(2);
    expect(call(h, 1).headers['last-event-id']).toBe('5');
  });

  it('gives up on a request that never answers after the heartbeat timeout', async () => {
    const h = (harness = start({ heartbeatTimeoutMs: 10_000 }));
    await flush();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(call(h, 0).aborted).toBe(true);
    expect(h.stream.state).toBe('reconnecting');
  });

  it('reads the token again on every connection', async () => {
    let token = 'first';
    const h = (harness = start({ getToken: () => token }));
    await flush();
    call(h, 0).open();
    await flush();
    token = 'second';
    call(h, 0).end();
    await flush();
    await vi.advanceTimersByTimeAsync(500);
    expect(call(h, 1).headers.authorization).toBe('Bearer second');
  });

  it('survives a handler that throws', async () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    const seen: string[] = [];
    const h = (harness = start({
      onJob: (j) => {
        seen.push(j.id);
        if (j.id === 'bad') throw new Error('boom');
      },
    }));
    await flush();
    call(h, 0).open();
    await flush();
    call(h, 0).push(jobFrame(makeJob({ id: 'bad' }), 1) + jobFrame(makeJob({ id: 'good' }), 2));
    await flush();
    expect(seen).toEqual(['bad', 'good']);
    expect(h.stream.state).toBe('live');
    expect(spy).toHaveBeenCalled();
  });
});
