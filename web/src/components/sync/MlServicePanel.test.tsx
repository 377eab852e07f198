// The Sync page's "ML service" panel (GET /api/ml/service): its states (acknowledging, not
// configured, failing, the server's error, 403), how it stays fresh (a job's end, a modest
// refresh while jobs run), that a `user` neither sees it nor asks for it, and that a failed job's
// detail shows the service's reason at the top.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, render, screen, waitFor, within } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { MemoryRouter, Route, Routes } from 'react-router';
import type { Job, MlServiceStatus, Role, Session } from '../../api/types';
import { AuthProvider } from '../../auth/session';
import { KEYS_CHANGED_BY_A_JOB, LiveJobsProvider } from '../../live/LiveJobs';
import { fakeFetch, makeJob } from '../../live/testing';
import SyncPage from '../../pages/SyncPage';
import { ACTIVE_REFRESH_MS, batchSize, formatLatency, MlServicePanel, ML_SERVICE_PATH, serviceHealth } from './MlServicePanel';

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

const errorBody = (status: number, code: string, message: string) => json({ error: { code, message, details: {} } }, status);

const JOB_ID = '01938f29-f0a2-7c41-8e6b-5d3c2a1b0f98';
const BATCH_ID = '01938f2a-6c1e-7b3a-9d4e-2f5a8c7b1e90';

function acknowledged(at: string, over: Partial<NonNullable<MlServiceStatus['lastAcknowledgedBatch']>> = {}) {
  return { batchId: BATCH_ID, jobId: JOB_ID, upserts: 480, deletes: 20, rejected: 0, at, ...over };
}

function status(over: Partial<MlServiceStatus> = {}): MlServiceStatus {
  return {
    configured: true,
    url: 'http://127.0.0.1:8000/mladmin',
    lastAcknowledgedBatch: acknowledged('2026-12-03T06:40:12.345Z'),
    lastError: null,
    inFlight: 2,
    ackLatencyMs: { p50: 42.5, p99: 1310.2 },
    ...over,
  };
}

const NOT_CONFIGURED: MlServiceStatus = {
  configured: false,
  url: null,
  lastAcknowledgedBatch: null,
  lastError: null,
  inFlight: 0,
  ackLatencyMs: { p50: null, p99: null },
};

let fetchMock: ReturnType<typeof vi.fn>;
let client: QueryClient;

function renderPanel(active = false) {
  client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter>
        <MlServicePanel active={active} />
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

function servicePanel(): HTMLElement {
  return screen.getByRole('region', { name: 'ML service' });
}

function serviceCalls(): number {
  return fetchMock.mock.calls.filter((c: unknown[]) => String(c[0]) === ML_SERVICE_PATH).length;
}

beforeEach(() => {
  fetchMock = vi.fn();
  vi.stubGlobal('fetch', fetchMock);
  localStorage.clear();
});

afterEach(() => {
  cleanup();
  vi.useRealTimers();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('MlServicePanel', () => {
  it('shows the URL, the last acknowledged batch, requests in flight and the latency', async () => {
    fetchMock.mockResolvedValue(json(status()));
    renderPanel();
    expect(screen.getByText("Reading the ML service's state…")).toBeTruthy();
    await screen.findByText('http://127.0.0.1:8000/mladmin');
    const panel = servicePanel();
    expect(within(panel).getByText('Acknowledging')).toBeTruthy();
    const fact = (label: string) => within(panel).getByText(label).nextElementSibling?.textContent;
    expect(fact('Last acknowledged batch')).toMatch(/^2026-12-03 \d\d:40:12480 upserts, 20 deletes · job 2a1b0f98 · batch 8c7b1e90$/);
    const last = within(panel).getByText('Last acknowledged batch').nextElementSibling as HTMLElement;
    expect(within(last).getByRole('link', { name: 'job 2a1b0f98' }).getAttribute('href')).toBe(`/sync/jobs/${JOB_ID}`);
    expect(within(last).getByText('8c7b1e90').getAttribute('title')).toBe(BATCH_ID);
    expect(fact('Last error')).toBe('none');
    expect(fact('Requests in flight')).toBe('2');
    expect(fact('Acknowledgement latency (5 min)')).toBe('p50 43 ms · p99 1.3 s');
    expect(screen.queryByRole('alert')).toBeNull();
    expect(String(fetchMock.mock.calls[0]?.[0])).toBe(ML_SERVICE_PATH);
  });

  it('says clearly when no service is configured', async () => {
    fetchMock.mockResolvedValue(json(NOT_CONFIGURED));
    renderPanel();
    await screen.findByText('Not configured');
    const panel = servicePanel();
    expect(panel.textContent).toContain('No external ML service is configured');
    expect(panel.textContent).toContain('[ml_service] url');
    expect(within(panel).queryByText('URL')).toBeNull();
    expect(within(panel).queryByText('Last acknowledged batch')).toBeNull();
  });

  it('shows a service failing since its last acknowledgement with the error and its time', async () => {
    fetchMock.mockResolvedValue(
      json(
        status({
          lastAcknowledgedBatch: null,
          lastError: { message: 'ML service unavailable: HTTP 503 (after 8 attempts)', at: '2026-12-03T06:41:00.000Z' },
          inFlight: 0,
          ackLatencyMs: { p50: null, p99: null },
        }),
      ),
    );
    renderPanel();
    await screen.findByText('Failing');
    const panel = servicePanel();
    expect(within(panel).getByText('ML service unavailable: HTTP 503 (after 8 attempts)')).toBeTruthy();
    expect(panel.textContent).toMatch(/at 2026-12-03 \d\d:41:00/);
    expect(panel.textContent).toContain('none since the server started');
    expect(panel.textContent).toContain('no batch acknowledged in the last 5 minutes');
  });

  it("shows the server's message when the state cannot be read, and a retry", async () => {
    fetchMock.mockResolvedValue(errorBody(500, 'internal', 'the database is locked'));
    renderPanel();
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('the database is locked');
    expect(within(alert).getByRole('button', { name: 'Try again' })).toBeTruthy();
  });

  it('renders nothing, and no error, when the server answers 403', async () => {
    fetchMock.mockResolvedValue(errorBody(403, 'forbidden', 'needs the ml_admin role'));
    const { container } = renderPanel();
    await waitFor(() => expect(container.textContent).toBe(''));
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('reads the state again when a job ends (the live layer invalidates its key)', async () => {
    fetchMock.mockResolvedValueOnce(json(status({ lastAcknowledgedBatch: null })));
    fetchMock.mockResolvedValue(json(status({ lastAcknowledgedBatch: acknowledged('2026-12-03T07:00:00.000Z') })));
    renderPanel();
    await screen.findByText('none since the server started');
    expect(KEYS_CHANGED_BY_A_JOB).toContainEqual(['ml-service']);
    await act(() => client.invalidateQueries({ queryKey: ['ml-service'] }));
    await waitFor(() => expect(screen.queryByText('none since the server started')).toBeNull());
    expect(serviceCalls()).toBe(2);
  });

  it('refreshes every few seconds while a job is active, not while none is', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    fetchMock.mockImplementation(() => Promise.resolve(json(status())));
    const idle = renderPanel(false);
    await vi.waitFor(() => expect(serviceCalls()).toBe(1));
    await act(() => vi.advanceTimersByTimeAsync(ACTIVE_REFRESH_MS * 2));
    expect(serviceCalls()).toBe(1);
    idle.unmount();

    fetchMock.mockClear();
    renderPanel(true);
    await vi.waitFor(() => expect(serviceCalls()).toBe(1));
    await act(() => vi.advanceTimersByTimeAsync(ACTIVE_REFRESH_MS * 2 + 100));
    expect(serviceCalls()).toBe(3);
  });
});

describe('serviceHealth, batchSize and formatLatency', () => {
  it('calls a service failing only when its error is newer than its last acknowledgement', () => {
    const err = (at: string) => ({ message: 'ML service unavailable: timeout', at });
    expect(serviceHealth(NOT_CONFIGURED)).toBe('not_configured');
    expect(serviceHealth(status({ lastAcknowledgedBatch: null }))).toBe('waiting');
    expect(serviceHealth(status())).toBe('ok');
    expect(serviceHealth(status({ lastError: err('2026-12-03T06:40:00.000Z') }))).toBe('ok');
    expect(serviceHealth(status({ lastError: err('2026-12-03T06:41:00.000Z') }))).toBe('failing');
    expect(serviceHealth(status({ lastAcknowledgedBatch: null, lastError: err('2026-12-03T06:41:00.000Z') }))).toBe('failing');
  });

  it("prints a batch's size, with its rejected items only when there were some", () => {
    const at = '2026-12-03T06:40:00.000Z';
    expect(batchSize(acknowledged(at))).toBe('480 upserts, 20 deletes');
    expect(batchSize(acknowledged(at, { upserts: 1, deletes: 0, rejected: 1 }))).toBe('1 upsert, 0 deletes (1 rejected)');
    expect(batchSize(acknowledged(at, { upserts: 2500, deletes: 1, rejected: 1200 }))).toBe('2,500 upserts, 1 delete (1,200 rejected)');
  });

  it('prints latencies in ms below a second, in seconds above', () => {
    expect(formatLatency(null)).toBe('—');
    expect(formatLatency(0.4)).toBe('0 ms');
    expect(formatLatency(999.4)).toBe('999 ms');
    expect(formatLatency(1310)).toBe('1.3 s');
    expect(formatLatency(12_500)).toBe('13 s');
  });
});

// --- the Sync page, with the real session and live layers over a fake fetch ---

function storeSession(role: Role) {
  const session: Session = {
    token: `tok-${role}`,
    expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    user: { id: 'u1', email: `${role}@example.com`, name: role, role, status: 'active', createdAt: null, updatedAt: null, lastLoginAt: null },
  };
  localStorage.setItem('mladmin.session', JSON.stringify(session));
  return session;
}

function renderSyncPage(role: Role, { jobs = [] as Job[], url = '/sync', service = status() } = {}) {
  const session = storeSession(role);
  const requested: string[] = [];
  const ff = fakeFetch({
    other: (u) => {
      requested.push(u);
      if (u === '/api/auth/me') return json(session.user);
      if (u === ML_SERVICE_PATH) return role === 'user' ? errorBody(403, 'forbidden', 'needs ml_admin') : json(service);
      if (u.startsWith('/api/ml/sync/jobs')) return json({ items: jobs, nextCursor: null });
      const one = /^\/api\/ml\/sync\/job\/([^/?]+)$/.exec(u);
      if (one) return json(jobs.find((j) => j.id === decodeURIComponent(one[1]!)) ?? {}, jobs.length ? 200 : 404);
      if (/\/errors\b/.test(u)) return json({ items: [], nextCursor: null, total: 0 });
      return json({}, 404);
    },
  });
  vi.stubGlobal('fetch', ff.fetch);
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={qc}>
      <AuthProvider>
        <LiveJobsProvider options={{ pollIntervalMs: 60_000, backoff: { initialMs: 10, maxMs: 10 } }}>
          <MemoryRouter initialEntries={[url]}>
            <Routes>
              <Route path="/sync" element={<SyncPage />} />
              <Route path="/sync/jobs/:jobId" element={<SyncPage />} />
            </Routes>
          </MemoryRouter>
        </LiveJobsProvider>
      </AuthProvider>
    </QueryClientProvider>,
  );
  return { requested, ff };
}

describe('SyncPage and the ML service', () => {
  it('shows the panel beside the active jobs to an ml_admin', async () => {
    renderSyncPage('ml_admin');
    await screen.findByText('http://127.0.0.1:8000/mladmin');
    expect(screen.getByRole('heading', { name: 'Active sync operations' })).toBeTruthy();
  });

  it('neither shows the panel to a user nor asks the server for it', async () => {
    const { requested } = renderSyncPage('user');
    await screen.findByRole('heading', { name: 'Recent sync history' });
    await waitFor(() => expect(requested.some((u) => u.startsWith('/api/ml/sync/jobs'))).toBe(true));
    expect(screen.queryByRole('region', { name: 'ML service' })).toBeNull();
    expect(requested).not.toContain(ML_SERVICE_PATH);
    expect(screen.queryByText(/needs ml_admin/)).toBeNull();
  });

  it("shows a failed job's reason at the top of its detail", async () => {
    const reason = 'ML service unavailable: HTTP 503 (after 8 attempts)';
    const failed = makeJob({
      id: 'j-failed',
      status: 'failed',
      processedItems: 40,
      syncedItems: 40,
      progress: 40,
      endTime: '2026-03-14T09:01:00.000Z',
      failureReason: reason,
    });
    renderSyncPage('ml_admin', { jobs: [failed], url: '/sync/jobs/j-failed' });
    const dialog = await screen.findByRole('dialog', { name: 'Job details' });
    const why = await within(dialog).findByRole('group', { name: 'Why it failed' });
    expect(why.textContent).toBe(`Why it failed: ${reason}`);
    // Above the figures, not among them.
    const facts = dialog.querySelector('dl.facts');
    expect(facts).not.toBeNull();
    expect(why.compareDocumentPosition(facts!) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    // The history row says it too.
    const rows = await screen.findAllByText(reason);
    expect(rows.length).toBeGreaterThan(1);
  });
});
