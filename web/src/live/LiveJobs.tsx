// The live jobs for every page: one event stream per signed-in tab (eventStream.ts), polling
// GET /api/ml/sync/jobs while it is down, and the lists a finished job changed invalidated so
// that they refresh themselves (README.md "The web dashboard").
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState } from 'react';
import type { ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { api } from '../api/client';
import type { Job, JobPage } from '../api/types';
import { useAuth } from '../auth/session';
import { DEFAULT_POLL_INTERVAL_MS, openJobStream } from './eventStream';
import type { JobStreamOptions, StreamState } from './eventStream';
import { isActive } from '../lib/progress';
import { applySnapshot, mergeJobs, sortJobs } from './jobStore';
import type { MergeResult } from './jobStore';

export type { StreamState } from './eventStream';

export interface LiveJobsValue {
  /** Every known job, the newest first: the active ones and recent finished ones. */
  jobs: Job[];
  byId: Map<string, Job>;
  state: StreamState;
  /** Merge a job the page got otherwise (the answer to start, pause, cancel…); newer wins. */
  upsert(job: Job): void;
  /** When the last update arrived (Date.now()), from the stream or a fallback poll. */
  lastEventAt: number | null;
  /** How often the fallback polls, for the indicator's text. */
  pollIntervalMs: number;
}

const LiveJobsContext = createContext<LiveJobsValue | null>(null);

/**
 * The query keys refreshed when a job finishes: job history, documents (lists and one), stats,
 * and the ML service's state (its last acknowledgement or error).
 */
export const KEYS_CHANGED_BY_A_JOB: ReadonlyArray<readonly string[]> = [
  ['jobs'],
  ['documents'],
  ['document'],
  ['stats'],
  ['ml-service'],
];

/** Lists the fallback poll reads: the newest jobs, all statuses. */
export const POLL_PATH = '/api/ml/sync/jobs';
export const POLL_LIMIT = 100;

export interface LiveJobsProviderProps {
  children: ReactNode;
  /** Stream settings for tests or special setups (url, intervals, fetch). */
  options?: Pick<JobStreamOptions, 'url' | 'pollIntervalMs' | 'fetchImpl' | 'backoff' | 'heartbeatTimeoutMs'>;
}

const EMPTY = new Map<string, Job>();

export function LiveJobsProvider({ children, options }: LiveJobsProviderProps) {
  const { token, logout } = useAuth();
  const queryClient = useQueryClient();
  const [byId, setById] = useState<Map<string, Job>>(EMPTY);
  const [state, setState] = useState<StreamState>('connecting');
  const [lastEventAt, setLastEventAt] = useState<number | null>(null);

  // The source of truth, updated synchronously so that "did this job just finish?" compares with
  // what the previous event left, not with the last rendered state.
  const jobsRef = useRef<Map<string, Job>>(EMPTY);
  const seenServerRef = useRef(false);
  const tokenRef = useRef(token);
  tokenRef.current = token;
  const logoutRef = useRef(logout);
  logoutRef.current = logout;
  const optionsRef = useRef(options);
  optionsRef.current = options;

  const commit = useCallback(
    (result: MergeResult) => {
      seenServerRef.current = true;
      if (result.changed) {
        jobsRef.current = result.jobs;
        setById(result.jobs);
      }
      if (result.finished.length > 0) {
        for (const queryKey of KEYS_CHANGED_BY_A_JOB) void queryClient.invalidateQueries({ queryKey: [...queryKey] });
      }
    },
    [queryClient],
  );

  const upsert = useCallback(
    (job: Job) => commit(mergeJobs(jobsRef.current, [job], seenServerRef.current)),
    [commit],
  );

  useEffect(() => {
    // A new session (or none) starts from nothing: another user's jobs must not linger.
    jobsRef.current = EMPTY;
    seenServerRef.current = false;
    setById(EMPTY);
    setLastEventAt(null);
    setState('connecting');
    if (!token) return;

    const opts = optionsRef.current ?? {};
    let closed = false;
    const received = () => setLastEventAt(Date.now());
    const stream = openJobStream({
      ...opts,
      getToken: () => tokenRef.current,
      onJob: (job) => {
        received();
        commit(mergeJobs(jobsRef.current, [job], seenServerRef.current));
      },
      onSnapshot: (jobs) => {
        received();
        const listed = new Set(jobs.map((j) => j.id));
        const ended = [...jobsRef.current.values()].filter((j) => isActive(j.status) && !listed.has(j.id));
        commit(applySnapshot(jobsRef.current, jobs, seenServerRef.current));
        // A job active before and missing from the snapshot ended while the stream was down: read
        // its final state, so that its card shows how it ended instead of vanishing.
        for (const job of ended.slice(0, 20)) {
          api<Job>(`/api/ml/sync/job/${encodeURIComponent(job.id)}`)
            .then((final) => {
              if (!closed) commit(mergeJobs(jobsRef.current, [final], seenServerRef.current));
            })
            .catch(() => {});
        }
      },
      onState: setState,
      poll: async () => {
        const page = await api<JobPage>(POLL_PATH, { params: { limit: POLL_LIMIT } });
        if (closed) return; // signed out or reopened meanwhile
        received();
        commit(mergeJobs(jobsRef.current, page.items ?? [], seenServerRef.current));
      },
      onUnauthorized: () => logoutRef.current('Your session has ended. Please sign in again.'),
    });
    return () => {
      closed = true;
      stream.close();
    };
  }, [token, commit]);

  const value = useMemo<LiveJobsValue>(
    () => ({
      jobs: sortJobs(byId.values()),
      byId,
      state,
      upsert,
      lastEventAt,
      pollIntervalMs: options?.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
    }),
    [byId, state, upsert, lastEventAt, options?.pollIntervalMs],
  );
  return <LiveJobsContext.Provider value={value}>{children}</LiveJobsContext.Provider>;
}

export function useLiveJobs(): LiveJobsValue {
  const v = useContext(LiveJobsContext);
  if (!v) throw new Error('useLiveJobs outside LiveJobsProvider');
  return v;
}

function seconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}

/**
 * "Live", or that the stream is down and the page polls meanwhile. End-to-end tests find it by
 * its data-state attribute (connecting, live, reconnecting).
 */
export function LiveIndicator({ className }: { className?: string }) {
  const { state, pollIntervalMs } = useLiveJobs();
  const text =
    state === 'live'
      ? 'Live'
      : state === 'connecting'
        ? 'Connecting…'
        : `Reconnecting… (polling every ${seconds(pollIntervalMs)})`;
  return (
    <span
      role="status"
      aria-live="polite"
      data-state={state}
      className={['live-indicator', `live-indicator--${state}`, className].filter(Boolean).join(' ')}
    >
      <span className="live-indicator__dot" aria-hidden="true" />
      {text}
    </span>
  );
}
