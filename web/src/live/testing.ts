// Test support: a fake fetch whose event-stream responses the test writes chunk by chunk, and
// whose other answers (JSON endpoints) a handler chooses. Used by the live tests only.
import type { Job } from '../api/types';

export interface StreamCall {
  url: string;
  init: RequestInit;
  headers: Record<string, string>;
  /** Answer the pending request: a stream for 2xx, an empty body otherwise. */
  open(status?: number): void;
  /** Make the pending request fail as a network error. */
  fail(): void;
  push(text: string): void;
  end(): void;
  readonly aborted: boolean;
}

export interface FakeFetch {
  fetch: typeof fetch;
  /** The requests to the events URL, in order. */
  streams: StreamCall[];
  /** Every request's URL, in order. */
  urls: string[];
}

function headerRecord(init: RequestInit | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  new Headers(init?.headers).forEach((v, k) => {
    out[k] = v;
  });
  return out;
}

function abortError(): Error {
  return new DOMException('The operation was aborted.', 'AbortError');
}

/**
 * `eventsPath` requests become StreamCalls the test drives; the rest go to `other` (a 404 when
 * there is none).
 */
export function fakeFetch(
  opts: { eventsPath?: string; other?: (url: string, init: RequestInit) => Response | Promise<Response> } = {},
): FakeFetch {
  const eventsPath = opts.eventsPath ?? '/api/ml/sync/events';
  const streams: StreamCall[] = [];
  const urls: string[] = [];
  const encoder = new TextEncoder();

  const impl = (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    urls.push(url);
    if (!url.startsWith(eventsPath)) {
      if (!opts.other) return Promise.resolve(new Response('{}', { status: 404 }));
      return Promise.resolve(opts.other(url, init));
    }
    let resolve!: (r: Response) => void;
    let reject!: (e: unknown) => void;
    const answered = new Promise<Response>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    let controller: ReadableStreamDefaultController<Uint8Array> | null = null;
    let aborted = false;
    const signal = init.signal;
    signal?.addEventListener('abort', () => {
      aborted = true;
      reject(abortError());
      try {
        controller?.error(abortError());
      } catch {
        // already closed
      }
    });
    const call: StreamCall = {
      url,
      init,
      headers: headerRecord(init),
      open(status = 200) {
        if (status >= 200 && status < 300) {
          const body = new ReadableStream<Uint8Array>({
            start(c) {
              controller = c;
            },
          });
          resolve(new Response(body, { status, headers: { 'Content-Type': 'text/event-stream' } }));
        } else {
          resolve(new Response(JSON.stringify({ error: { code: 'x', message: 'no' } }), { status }));
        }
      },
      fail() {
        reject(new TypeError('Failed to fetch'));
      },
      push(text) {
        controller?.enqueue(encoder.encode(text));
      },
      end() {
        controller?.close();
      },
      get aborted() {
        return aborted;
      },
    };
    streams.push(call);
    return answered;
  };
  return { fetch: impl as typeof fetch, streams, urls };
}

/** Lets pending promise chains (fetch → body reads → parser → callbacks) run. */
export async function flush(rounds = 30): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

/** `id:`/`event: job`/`data:` for one job. */
export function jobFrame(job: Partial<Job> & { id: string }, eventId?: number): string {
  return `${eventId !== undefined ? `id: ${eventId}\n` : ''}event: job\ndata: ${JSON.stringify(job)}\n\n`;
}

export function makeJob(over: Partial<Job> & { id: string }): Job {
  return {
    userId: 'u1',
    type: 'journal_entries',
    status: 'running',
    totalItems: 100,
    processedItems: 0,
    syncedItems: 0,
    failedItems: 0,
    progress: 0,
    errors: [],
    startTime: '2026-03-14T09:00:00.000Z',
    endTime: null,
    duration: null,
    scope: 'all',
    scopeUserId: null,
    mode: 'incremental',
    skippedItems: 0,
    errorCount: 0,
    attempt: 1,
    createdAt: '2026-03-14T09:00:00.000Z',
    updatedAt: '2026-03-14T09:00:00.000Z',
    itemsPerSecond: 0,
    etaSeconds: null,
    cancelRequested: false,
    ...over,
  };
}
