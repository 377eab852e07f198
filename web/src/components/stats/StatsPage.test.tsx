// The Stats page's states and its query: loading, the server's error, the empty range, the
// request it makes for a range, and the refetch when the live layer invalidates ['stats'].
// jsdom has no canvas, so the uPlot charts are replaced by their accessible names.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { MemoryRouter } from 'react-router';
import StatsPage from '../../pages/StatsPage';
import { describeDurations, describeItemsPerSecond, type ChartData } from './transform';
import type { StatsBucket, StatsReport } from './types';

vi.mock('./StatsCharts', () => ({
  ItemsPerSecondChart: ({ data, bucket }: { data: ChartData; bucket: StatsBucket }) => (
    <div role="img" aria-label={describeItemsPerSecond(data, bucket)} />
  ),
  DurationChart: ({ data, bucket }: { data: ChartData; bucket: StatsBucket }) => (
    <div role="img" aria-label={describeDurations(data, bucket)} />
  ),
}));

function report(over: Partial<StatsReport['jobs']> = {}, ran = false): StatsReport {
  return {
    range: { from: '2026-11-20T00:00:00.000Z', to: '2026-11-22T10:00:00.000Z', bucket: 'day' },
    documents: {
      total: 30,
      byType: { journal_entries: 20, goals: 10 },
      topUsers: [
        { userId: 'u1', email: 'ana@example.com', name: 'Ana', count: 25, byType: { journal_entries: 17, goals: 8 } },
        { userId: 'u-gone', email: null, name: null, count: 5, byType: { journal_entries: 3, goals: 2 } },
      ],
    },
    pending: { journal_entries: 4, goals: 1 },
    jobs: {
      completed: 0,
      failed: 0,
      cancelled: 0,
      successRate: null,
      items: { synced: 0, skipped: 0, failed: 0, successRate: null },
      ...over,
    },
    series: ['2026-11-20', '2026-11-21', '2026-11-22'].map((d, i) => ({
      start: `${d}T00:00:00.000Z`,
      jobs: ran && i === 1 ? 2 : 0,
      completed: ran && i === 1 ? 2 : 0,
      failed: 0,
      cancelled: 0,
      items: ran && i === 1 ? 300 : 0,
      itemsPerSecond: ran && i === 1 ? 150 : 0,
      avgDurationMs: ran && i === 1 ? 1000 : 0,
      maxDurationMs: ran && i === 1 ? 1500 : 0,
    })),
    failures: { items: [{ reason: 'mood N is outside 1-5', count: 3, example: 'mood 9 is outside 1-5' }], jobs: [] },
  };
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

let fetchMock: ReturnType<typeof vi.fn>;
let client: QueryClient;

function renderPage(url = '/stats') {
  client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[url]}>
        <StatsPage />
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

beforeEach(() => {
  fetchMock = vi.fn();
  vi.stubGlobal('fetch', fetchMock);
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

/** The text of the summary card with this label. */
function cardText(label: string): string {
  const el = screen.getAllByText(label).find((e) => e.classList.contains('label'));
  return el?.parentElement?.textContent ?? '';
}

function requestedParams(call = 0): URLSearchParams {
  const url = String(fetchMock.mock.calls[call]?.[0]);
  expect(url.startsWith('/api/ml/stats?')).toBe(true);
  return new URLSearchParams(url.slice(url.indexOf('?') + 1));
}

describe('StatsPage', () => {
  it('shows loading, then the empty range with the documents still counted', async () => {
    fetchMock.mockResolvedValue(json(report()));
    renderPage();
    expect(screen.getByText('Loading stats…')).toBeTruthy();
    expect(await screen.findByText(/No sync jobs ended in the last 3 days/)).toBeTruthy();
    expect(screen.queryAllByRole('img')).toHaveLength(0);
    expect(cardText('Documents')).toContain('30');
    expect(cardText('Pending changes')).toContain('5');
    expect(screen.getByText('Deleted user')).toBeTruthy();
    expect(screen.getByText('mood N is outside 1-5')).toBeTruthy();
    const q = requestedParams();
    expect(q.get('bucket')).toBe('day');
    expect(q.get('top')).toBe('10');
  });

  it('shows the server message when the request fails', async () => {
    fetchMock.mockResolvedValue(
      json({ error: { code: 'validation_failed', message: 'bucket: must be hour or day' } }, 400),
    );
    renderPage();
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('bucket: must be hour or day');
  });

  it('asks for hourly buckets for the last 24 hours and draws the charts', async () => {
    fetchMock.mockResolvedValue(
      json(report({ completed: 2, successRate: 1, items: { synced: 290, skipped: 0, failed: 10, successRate: 290 / 300 } }, true)),
    );
    renderPage('/stats?range=24h');
    const select = (await screen.findByLabelText('Range')) as HTMLSelectElement;
    expect(select.value).toBe('24h');
    await screen.findAllByRole('img');
    expect(requestedParams().get('bucket')).toBe('hour');
    expect(cardText('Job success rate')).toContain('100 %');
    expect(cardText('Item success rate')).toContain('96.7 %');
    const names = screen.getAllByRole('img').map((e) => e.getAttribute('aria-label'));
    expect(names[0]).toMatch(/^Items per second over 3 days/);
    expect(names[1]).toMatch(/^Job duration over 3 days/);
  });

  it('refetches when the range changes and when the live layer invalidates stats', async () => {
    fetchMock.mockImplementation(() => Promise.resolve(json(report())));
    renderPage();
    await screen.findByText(/No sync jobs ended in the last/);
    expect(fetchMock).toHaveBeenCalledTimes(1);

    fireEvent.change(screen.getByLabelText('Range'), { target: { value: '30d' } });
    await waitFor(() => expect(fetchMock).toHaveBeenCalledTimes(2));
    expect(requestedParams(1).get('bucket')).toBe('day');
    expect(Date.parse(requestedParams(1).get('to')!) - Date.parse(requestedParams(1).get('from')!)).toBeGreaterThan(29 * 86_400_000);

    await client.invalidateQueries({ queryKey: ['stats'] });
    await waitFor(() => expect(fetchMock).toHaveBeenCalledTimes(3));
  });
});
