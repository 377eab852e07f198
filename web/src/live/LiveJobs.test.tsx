import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, render, screen, waitFor } from '@testing-library/react';
import { QueryClient, QueryClientProvider, useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import type { Job, Session } from '../api/types';
import { AuthProvider, useAuth } from '../auth/session';
import type { AuthValue } from '../auth/session';
import { KEYS_CHANGED_BY_A_JOB, LiveIndicator, LiveJobsProvider, useLiveJobs } from './LiveJobs';
import type { LiveJobsValue } from './LiveJobs';
import { fakeFetch, jobFrame, makeJob } from './testing';
import type { FakeFetch, StreamCall } from './testing';

const SESSION_KEY = 'mladmin.session';

function storeSession(token: string) {
  const session: Session = {
    token,
    expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    user: {
      id: 'u1',
      email: 'ada@example.com',
      name: 'Ada',
      role: 'ml_admin',
      status: 'active',
      createdAt: null,
      updatedAt: null,
      lastLoginAt: null,
    },
  };
  localStorage.setItem(SESSION_KEY, JSON.stringify(session));
  return session;
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

let live: LiveJobsValue | null = null;
let auth: AuthValue | null = null;

function Probe() {
  live = useLiveJobs();
  auth = useAuth();
  return (
    <ul>
      {live.jobs.map((j) => (
        <li key={j.id} data-testid={`job-${j.id}`}>
          {j.id} {j.status} {j.processedItems}
        </li>
      ))}
    </ul>
  );
}

interface Setup {
  ff: FakeFetch;
  queryClient: QueryClient;
  invalidate: ReturnType<typeof vi.spyOn>;
  polls: string[];
  pollItems: Job[];
}

function setup(children: ReactNode = <Probe />): Setup {
  const polls: string[] = [];
  const s = { pollItems: [] as Job[] } as Setup;
  s.polls = polls;
  s.ff = fakeFetch({
    other: (url, init) => {
      if (url.startsWith('/api/ml/sync/jobs')) {
        polls.push(`${url} ${new Headers(init.headers).get('authorization') ?? ''}`);
        return json({ items: s.pollItems, nextCursor: null });
      }
      if (url === '/api/auth/me') return json(JSON.parse(localStorage.getItem(SESSION_KEY) ?? '{}').user);
      if (url === '/api/auth/login') {
        const session = storeSession('tok-new');
        return json(session);
      }
      return json({}, 404);
    },
  });
  vi.stubGlobal('fetch', s.ff.fetch);
  s.queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  s.invalidate = vi.spyOn(s.queryClient, 'invalidateQueries');
  render(
    <QueryClientProvider client={s.queryClient}>
      <AuthProvider>
        <LiveJobsProvider options={{ pollIntervalMs: 2000, backoff: { initialMs: 10, maxMs: 10 } }}>
          <LiveIndicator />
          {children}
        </LiveJobsProvider>
      </AuthProvider>
    </QueryClientProvider>,
  );
  return s;
}

async function stream(s: Setup, n: number): Promise<StreamCall> {
  await waitFor(() => expect(s.ff.streams.length).toBeGreaterThan(n));
  return s.ff.streams[n]!;
}

async function openLive(s: Setup, n = 0): Promise<StreamCall> {
  const c = await stream(s, n);
  act(() => c.open());
  await waitFor(() => expect(screen.getByRole('status').dataset.state).toBe('live'));
  return c;
}

function invalidatedKeys(s: Setup): unknown[] {
  return s.invalidate.mock.calls.map((args: unknown[]) => (args[0] as { queryKey: unknown }).queryKey);
}

beforeEach(() => {
  localStorage.clear();
  live = null;
  auth = null;
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('LiveJobsProvider', () => {
  it('opens the stream with the session token and shows job events in useLiveJobs', async () => {
    storeSession('tok-1');
    const s = setup();
    const c = await stream(s, 0);
    expect(c.headers.authorization).toBe('Bearer tok-1');
    expect(c.url).not.toContain('tok-1');
    expect(screen.getByRole('status').textContent).toContain('Connecting');

    await openLive(s);
    expect(screen.getByRole('status').textContent).toBe('Live');
    expect(screen.getByRole('status').getAttribute('aria-live')).toBe('polite');

    const a = makeJob({ id: 'a', processedItems: 10, updatedAt: '2026-03-14T09:00:01.000Z' });
    act(() => c.push(`id: 1\nevent: snapshot\ndata: ${JSON.stringify({ jobs: [a] })}\n\n`));
    await waitFor(() => expect(screen.getByTestId('job-a').textContent).toBe('a running 10'));

    act(() => c.push(jobFrame({ ...a, processedItems: 60, updatedAt: '2026-03-14T09:00:02.000Z' }, 2)));
    await waitFor(() => expect(screen.getByTestId('job-a').textContent).toBe('a running 60'));
    expect(live!.byId.get('a')?.processedItems).toBe(60);
    expect(live!.lastEventAt).not.toBeNull();
    // Progress alone refreshes nothing.
    expect(s.invalidate).not.toHaveBeenCalled();
  });

  it("invalidates job history, documents, stats and the ML service's state when a job finishes", async () => {
    storeSession('tok-1');
    const s = setup();
    const c = await openLive(s);
    const a = makeJob({ id: 'a', updatedAt: '2026-03-14T09:00:01.000Z' });
    act(() => c.push(jobFrame(a, 1)));
    await waitFor(() => expect(live!.byId.has('a')).toBe(true));
    expect(s.invalidate).not.toHaveBeenCalled();

    act(() => c.push(jobFrame({ ...a, status: 'completed', processedItems: 100, updatedAt: '2026-03-14T09:00:02.000Z' }, 2)));
    await waitFor(() => expect(invalidatedKeys(s)).toContainEqual(['jobs']));
    expect(invalidatedKeys(s)).toEqual([['jobs'], ['documents'], ['document'], ['stats'], ['ml-service']]);

    // A later copy of the same finished job is no news.
    act(() => c.push(jobFrame({ ...a, status: 'completed', processedItems: 100, updatedAt: '2026-03-14T09:00:03.000Z' }, 3)));
    await waitFor(() => expect(live!.byId.get('a')?.updatedAt).toBe('2026-03-14T09:00:03.000Z'));
    expect(s.invalidate).toHaveBeenCalledTimes(KEYS_CHANGED_BY_A_JOB.length);
  });

  it('makes a job history query refetch when a job finishes', async () => {
    storeSession('tok-1');
    let historyFetches = 0;
    function History() {
      useQuery({
        queryKey: ['jobs', { status: 'all' }],
        queryFn: () => {
          historyFetches += 1;
          return Promise.resolve([]);
        },
      });
      return null;
    }
    const s = setup(
      <>
        <Probe />
        <History />
      </>,
    );
    const c = await openLive(s);
    await waitFor(() => expect(historyFetches).toBe(1));
    const a = makeJob({ id: 'a', updatedAt: '2026-03-14T09:00:01.000Z' });
    act(() => c.push(jobFrame(a, 1)));
    act(() => c.push(jobFrame({ ...a, status: 'failed', updatedAt: '2026-03-14T09:00:02.000Z' }, 2)));
    await waitFor(() => expect(historyFetches).toBe(2));
  });

  it('says when the stream drops and polls the job list meanwhile', async () => {
    storeSession('tok-1');
    const s = setup();
    const c = await openLive(s);
    const a = makeJob({ id: 'a', updatedAt: '2026-03-14T09:00:01.000Z' });
    act(() => c.push(jobFrame(a, 7)));
    await waitFor(() => expect(live!.byId.has('a')).toBe(true));

    s.pollItems = [{ ...a, status: 'completed', updatedAt: '2026-03-14T09:00:05.000Z' }];
    act(() => c.end());
    await waitFor(() => expect(screen.getByRole('status').dataset.state).toBe('reconnecting'));
    expect(screen.getByRole('status').textContent).toBe('Reconnecting… (polling every 2 s)');
    await waitFor(() => expect(s.polls).toEqual(['/api/ml/sync/jobs?limit=100 Bearer tok-1']));
    await waitFor(() => expect(screen.getByTestId('job-a').textContent).toBe('a completed 0'));
    expect(invalidatedKeys(s)).toContainEqual(['jobs']);

    // It reconnects, asking for what it missed.
    const again = await stream(s, 1);
    expect(again.headers['last-event-id']).toBe('7');
    act(() => again.open());
    await waitFor(() => expect(screen.getByRole('status').textContent).toBe('Live'));
  });

  it('signs out on a 401 from the stream', async () => {
    storeSession('tok-1');
    const s = setup();
    const c = await stream(s, 0);
    act(() => c.open(401));
    await waitFor(() => expect(auth!.session).toBeNull());
    expect(localStorage.getItem(SESSION_KEY)).toBeNull();
    expect(s.ff.streams).toHaveLength(1);
  });

  it('opens no stream while signed out, and one with the new token after a login', async () => {
    const s = setup();
    await act(async () => {
      await Promise.resolve();
    });
    expect(s.ff.streams).toHaveLength(0);
    expect(screen.getByRole('status').dataset.state).toBe('connecting');

    await act(async () => {
      await auth!.login('ada@example.com', 'a long passphrase');
    });
    const c = await stream(s, 0);
    expect(c.headers.authorization).toBe('Bearer tok-new');
  });

  it('closes the stream on sign-out and forgets the jobs', async () => {
    storeSession('tok-1');
    const s = setup();
    const c = await openLive(s);
    act(() => c.push(jobFrame(makeJob({ id: 'a' }), 1)));
    await waitFor(() => expect(live!.jobs).toHaveLength(1));
    act(() => auth!.logout());
    await waitFor(() => expect(c.aborted).toBe(true));
    expect(live!.jobs).toEqual([]);
  });

  it('lets a page upsert a job, and keeps the newer copy', async () => {
    storeSession('tok-1');
    const s = setup();
    const c = await openLive(s);
    const a = makeJob({ id: 'a', status: 'paused', updatedAt: '2026-03-14T09:00:05.000Z' });
    act(() => live!.upsert(a));
    expect(live!.byId.get('a')?.status).toBe('paused');
    // An event older than what the page already has does not undo it.
    act(() => c.push(jobFrame({ ...a, status: 'running', updatedAt: '2026-03-14T09:00:04.000Z' }, 1)));
    act(() => c.push(jobFrame(makeJob({ id: 'b' }), 2)));
    await waitFor(() => expect(live!.byId.has('b')).toBe(true));
    expect(live!.byId.get('a')?.status).toBe('paused');
  });
});

describe('useLiveJobs', () => {
  it('needs the provider', () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    function Lonely() {
      useLiveJobs();
      return null;
    }
    expect(() => render(<Lonely />)).toThrow(/LiveJobsProvider/);
  });
});
