// The live job event stream (docs/jobs.md), read with fetch so that the token travels in the
// Authorization header, never in the URL. Framework-free: LiveJobs.tsx wraps it for React.
//
//  - `event: job` carries one job's JSON, `event: snapshot` {"jobs": [...]} replaces the state
//    (the server sends it on a first connect or when our Last-Event-ID is too old to replay).
//  - When the stream ends, errors, answers non-2xx or stays silent past the heartbeat timeout,
//    it reconnects with exponential backoff and jitter, sending Last-Event-ID so that the server
//    replays what was missed; meanwhile it calls poll() at once and then every pollIntervalMs,
//    never two at a time, until the stream is live again.
//  - A 401 ends it for good (onUnauthorized); close() aborts the request and clears every timer.
import { createParser } from 'eventsource-parser';
import type { EventSourceMessage } from 'eventsource-parser';
import type { Job } from '../api/types';

export type StreamState = 'connecting' | 'live' | 'reconnecting';

export interface JobStreamOptions {
  /** Default '/api/ml/sync/events'. */
  url?: string;
  /** Sent as `Authorization: Bearer <token>`; read again on every (re)connect. */
  getToken: () => string | null;
  onJob: (job: Job) => void;
  onSnapshot: (jobs: Job[]) => void;
  onState: (state: StreamState) => void;
  /** Fallback while the stream is down: called at once, then every pollIntervalMs. */
  poll: () => Promise<void>;
  /** A 401 from the stream: it stops for good and calls this. */
  onUnauthorized?: () => void;
  /** Default 2000. */
  pollIntervalMs?: number;
  fetchImpl?: typeof fetch;
  /** Reconnect delays: initialMs doubling up to maxMs, each with jitter (×0.5..1). Default 500 → 10000. */
  backoff?: { initialMs: number; maxMs: number };
  /** No byte for this long means the connection is dead (the server comments every 15 s). Default 45000. */
  heartbeatTimeoutMs?: number;
}

export interface JobStream {
  close(): void;
  readonly state: StreamState;
}

export const DEFAULT_EVENTS_URL = '/api/ml/sync/events';
export const DEFAULT_POLL_INTERVAL_MS = 2000;
/** A connection open this long counts as healthy even without an event. */
const STABLE_MS = 5000;

function parseJson(data: string): unknown {
  try {
    return JSON.parse(data) as unknown;
  } catch {
    return undefined;
  }
}

function isJob(v: unknown): v is Job {
  return typeof v === 'object' && v !== null && typeof (v as { id?: unknown }).id === 'string';
}

export function openJobStream(opts: JobStreamOptions): JobStream {
  const url = opts.url ?? DEFAULT_EVENTS_URL;
  const pollIntervalMs = opts.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const backoff = opts.backoff ?? { initialMs: 500, maxMs: 10_000 };
  const heartbeatTimeoutMs = opts.heartbeatTimeoutMs ?? 45_000;
  const doFetch: typeof fetch = opts.fetchImpl ?? ((input, init) => fetch(input, init));

  let state: StreamState = 'connecting';
  let stopped = false;
  /** The highest event id seen; sent as Last-Event-ID on reconnects. */
  let lastEventId: string | null = null;
  /** Failed connections in a row, for the backoff. */
  let failures = 0;
  /** The current connection proved healthy (an event, or open long enough): the backoff restarts. */
  let healthy = false;
  let openedAt = 0;
  /** Bumped for every connection attempt: callbacks of an older one do nothing. */
  let generation = 0;
  let controller: AbortController | null = null;
  let reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  let heartbeatTimer: ReturnType<typeof setTimeout> | null = null;
  let pollTimer: ReturnType<typeof setTimeout> | null = null;
  let polling = false;
  let pollInFlight = false;

  function setState(next: StreamState) {
    if (state === next) return;
    state = next;
    opts.onState(next);
  }

  function clearTimer(t: ReturnType<typeof setTimeout> | null) {
    if (t !== null) clearTimeout(t);
  }

  // --- fallback polling -------------------------------------------------------------------

  function runPoll() {
    pollTimer = null;
    if (!polling || stopped || pollInFlight) return;
    pollInFlight = true;
    let p: Promise<void>;
    try {
      p = Promise.resolve(opts.poll());
    } catch (err) {
      p = Promise.reject(err);
    }
    p.catch(() => {
      // A failed poll is retried at the next tick; the page shows the stream is down meanwhile.
    }).finally(() => {
      pollInFlight = false;
      if (polling && !stopped) pollTimer = setTimeout(runPoll, pollIntervalMs);
    });
  }

  /** Polls every pollIntervalMs from now on; the first one at once when `immediately`. */
  function startPolling(immediately: boolean) {
    if (stopped) return;
    if (polling && !immediately) return;
    polling = true;
    if (pollInFlight) return; // its end schedules the next one
    clearTimer(pollTimer);
    pollTimer = null;
    if (immediately) runPoll();
    else pollTimer = setTimeout(runPoll, pollIntervalMs);
  }

  function stopPolling() {
    polling = false;
    clearTimer(pollTimer);
    pollTimer = null;
  }

  // --- connection -------------------------------------------------------------------------

  function armHeartbeat(gen: number) {
    clearTimer(heartbeatTimer);
    heartbeatTimer = setTimeout(() => {
      heartbeatTimer = null;
      if (gen === generation) connectionLost();
    }, heartbeatTimeoutMs);
  }

  /** The current connection is gone (ended, failed, silent): poll, and reconnect later. */
  function connectionLost() {
    if (stopped) return;
    generation += 1; // whatever the old connection still does is ignored from now on
    controller?.abort();
    controller = null;
    clearTimer(heartbeatTimer);
    heartbeatTimer = null;
    // Going down (from live, or from the first attempt): poll at once. A failed reconnect
    // keeps the polls' 2 s cadence.
    const wasDown = state === 'reconnecting';
    setState('reconnecting');
    startPolling(!wasDown);
    if (healthy || (openedAt > 0 && Date.now() - openedAt >= STABLE_MS)) failures = 0;
    healthy = false;
    openedAt = 0;
    const base = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(failures, 30));
    failures += 1;
    const delay = base * (0.5 + Math.random() * 0.5);
    clearTimer(reconnectTimer);
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null;
      void connect();
    }, delay);
  }

  function dispatch(msg: EventSourceMessage) {
    if (msg.event === 'job') {
      const job = parseJson(msg.data);
      if (isJob(job)) opts.onJob(job);
    } else if (msg.event === 'snapshot') {
      const body = parseJson(msg.data) as { jobs?: unknown } | undefined;
      if (body && Array.isArray(body.jobs)) opts.onSnapshot(body.jobs.filter(isJob));
    }
    // Other event types are not ours; comments (heartbeats) never reach here.
  }

  async function connect(): Promise<void> {
    if (stopped) return;
    generation += 1;
    const gen = generation;
    const ctrl = new AbortController();
    controller = ctrl;
    const headers: Record<string, string> = { Accept: 'text/event-stream', 'Cache-Control': 'no-cache' };
    const token = opts.getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (lastEventId) headers['Last-Event-ID'] = lastEventId;
    // A request that never answers counts as silence too.
    armHeartbeat(gen);

    let res: Response;
    try {
      res = await doFetch(url, { method: 'GET', headers, signal: ctrl.signal, cache: 'no-store', credentials: 'same-origin' });
    } catch {
      if (gen === generation) connectionLost();
      return;
    }
    if (gen !== generation || stopped) {
      void res.body?.cancel().catch(() => {});
      return;
    }
    if (res.status === 401) {
      void res.body?.cancel().catch(() => {});
      stop();
      opts.onUnauthorized?.();
      return;
    }
    if (!res.ok || !res.body) {
      void res.body?.cancel().catch(() => {});
      connectionLost();
      return;
    }

    // The backoff restarts only once this connection proves healthy: a server that accepts and
    // hangs up at once must not be hammered.
    openedAt = Date.now();
    stopPolling();
    setState('live');
    armHeartbeat(gen);

    const parser = createParser({
      onEvent(msg) {
        if (gen !== generation) return;
        if (msg.id !== undefined) lastEventId = msg.id;
        healthy = true;
        try {
          dispatch(msg);
        } catch (err) {
          // A throwing handler must not take the stream down with it.
          console.error('live events: a handler failed', err);
        }
      },
    });
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (gen !== generation) return;
        if (done) break;
        armHeartbeat(gen);
        parser.feed(decoder.decode(value, { stream: true }));
      }
    } catch {
      // Aborted or broken: handled below like an end of stream.
    } finally {
      reader.releaseLock?.();
    }
    if (gen === generation) connectionLost();
  }

  function stop() {
    stopped = true;
    generation += 1;
    controller?.abort();
    controller = null;
    clearTimer(reconnectTimer);
    clearTimer(heartbeatTimer);
    reconnectTimer = heartbeatTimer = null;
    stopPolling();
  }

  startPolling(false); // poll if the first connection is slow to open
  void connect();

  return {
    close: stop,
    get state() {
      return state;
    },
  };
}
