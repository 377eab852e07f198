// The one place that talks HTTP to the mladmin API: adds the bearer token, encodes query
// parameters, and turns every non-2xx answer into an ApiError carrying the server's message.
import type { ApiErrorBody } from './types';

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown>;

  constructor(status: number, code: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export type QueryParams = Record<string, string | number | boolean | null | undefined>;

let currentToken: string | null = null;
let onUnauthorized: (() => void) | null = null;

/** Called by the session layer: the token sent from now on, and what to do on a 401. */
export function configureApi(token: string | null, unauthorized: (() => void) | null): void {
  currentToken = token;
  onUnauthorized = unauthorized;
}

export function apiToken(): string | null {
  return currentToken;
}

/** `path?k=v&…`, leaving out empty values. */
export function withQuery(path: string, params?: QueryParams): string {
  if (!params) return path;
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    qs.set(k, String(v));
  }
  const s = qs.toString();
  return s ? `${path}?${s}` : path;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  params?: QueryParams;
  signal?: AbortSignal;
  /** Skip the automatic sign-out on 401 (the login form wants to show the message itself). */
  noAuthRedirect?: boolean;
}

async function errorFrom(res: Response): Promise<ApiError> {
  let body: Partial<ApiErrorBody> | null = null;
  try {
    body = (await res.json()) as Partial<ApiErrorBody>;
  } catch {
    body = null;
  }
  const e = body?.error;
  if (e && typeof e.message === 'string') {
    return new ApiError(res.status, e.code ?? 'error', e.message, e.details ?? {});
  }
  return new ApiError(res.status, 'http_error', `The server answered ${res.status} ${res.statusText}`.trim());
}

/** Sends a request and returns the raw Response when it succeeded (2xx). */
export async function apiRaw(path: string, opts: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (currentToken) headers.Authorization = `Bearer ${currentToken}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  let res: Response;
  try {
    res = await fetch(withQuery(path, opts.params), {
      method: opts.method ?? (body !== undefined ? 'POST' : 'GET'),
      headers,
      body,
      signal: opts.signal,
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'network_error', 'Cannot reach the server. Check that it is running.');
  }
  if (!res.ok) {
    const error = await errorFrom(res);
    if (res.status === 401 && !opts.noAuthRedirect) onUnauthorized?.();
    throw error;
  }
  return res;
}

/** Sends a request and parses its JSON answer (undefined for 204). */
export async function api<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const res = await apiRaw(path, opts);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/** A short, human sentence for any error thrown while talking to the server. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}
