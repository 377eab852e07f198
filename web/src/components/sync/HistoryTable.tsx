import { useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useNavigate } from 'react-router';
import { api, errorMessage } from '../../api/client';
import type { JobPage, JobStatus, JobType } from '../../api/types';
import { useLiveJobs } from '../../live/LiveJobs';
import { formatDateTime, formatDuration, formatNumber, isoFromLocalDate } from '../../lib/format';
import { jobLabel, progressPercent } from '../../lib/progress';
import { Pager } from '../Pager';
import { Empty, ErrorState, Loading } from '../States';
import { downloadFrom } from './download';
import { ProgressBar } from './ProgressBar';
import { StatusBadge } from './StatusBadge';

const PAGE_SIZE = 20;

const statuses: JobStatus[] = ['queued', 'running', 'paused', 'completed', 'failed', 'cancelled', 'interrupted'];
const types: { value: JobType; label: string }[] = [
  { value: 'journal_entries', label: 'Journal entries' },
  { value: 'goals', label: 'Goals' },
  { value: 'bulk_delete', label: 'Bulk delete' },
  { value: 'bulk_resync', label: 'Bulk re-sync' },
];

export const typeLabel = (t: JobType) => types.find((x) => x.value === t)?.label ?? t;

interface Filters {
  status: string;
  type: string;
  from: string;
  to: string;
}

/** The "Recent sync history" table: every job the caller may read, newest first, live. */
export function HistoryTable() {
  const { byId } = useLiveJobs();
  const navigate = useNavigate();
  const [filters, setFilters] = useState<Filters>({ status: '', type: '', from: '', to: '' });
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [exportError, setExportError] = useState<string | null>(null);
  const cursor = cursors[cursors.length - 1] ?? null;
  const params = {
    status: filters.status,
    type: filters.type,
    from: isoFromLocalDate(filters.from, 'start'),
    to: isoFromLocalDate(filters.to, 'end'),
  };
  const query = useQuery({
    queryKey: ['jobs', params, cursor],
    queryFn: ({ signal }) =>
      api<JobPage>('/api/ml/sync/jobs', { params: { ...params, limit: PAGE_SIZE, cursor }, signal }),
    placeholderData: keepPreviousData,
  });

  function change(patch: Partial<Filters>) {
    setFilters((f) => ({ ...f, ...patch }));
    setCursors([null]);
  }

  async function exportAs(format: 'csv' | 'json') {
    setExportError(null);
    try {
      await downloadFrom('/api/ml/sync/jobs/export', { ...params, format }, `sync-jobs.${format}`);
    } catch (err) {
      setExportError(errorMessage(err));
    }
  }

  // A row shows the freshest copy: the live map's when it is newer than the page's.
  const rows = (query.data?.items ?? []).map((j) => {
    const live = byId.get(j.id);
    return live && live.updatedAt >= j.updatedAt ? live : j;
  });

  return (
    <section className="panel" aria-labelledby="history-title">
      <h2 id="history-title">Recent sync history</h2>
      <div className="row filters">
        <label>
          Status
          <select value={filters.status} onChange={(e) => change({ status: e.target.value })}>
            <option value="">Any</option>
            {statuses.map((s) => (
              <option key={s} value={s}>
                {s[0]!.toUpperCase() + s.slice(1)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Type
          <select value={filters.type} onChange={(e) => change({ type: e.target.value })}>
            <option value="">Any</option>
            {types.map((t) => (
              <option key={t.value} value={t.value}>
                {t.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          From
          <input type="date" value={filters.from} onChange={(e) => change({ from: e.target.value })} />
        </label>
        <label>
          To
          <input type="date" value={filters.to} onChange={(e) => change({ to: e.target.value })} />
        </label>
        <span className="spacer" />
        <button type="button" onClick={() => void exportAs('csv')}>
          Export CSV
        </button>
        <button type="button" onClick={() => void exportAs('json')}>
          Export JSON
        </button>
      </div>
      {exportError && (
        <p className="error" role="alert">
          {exportError}
        </p>
      )}
      {query.isPending ? (
        <Loading />
      ) : query.isError ? (
        <ErrorState error={query.error} onRetry={() => void query.refetch()} />
      ) : rows.length === 0 ? (
        <Empty>{cursors.length > 1 ? 'No more jobs.' : 'No sync jobs match these filters yet.'}</Empty>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Type</th>
                <th scope="col">Status</th>
                <th scope="col">Progress</th>
                <th scope="col" className="num hide-narrow">
                  Items
                </th>
                <th scope="col" className="hide-narrow">
                  Started
                </th>
                <th scope="col" className="num hide-narrow">
                  Duration
                </th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((job) => (
                <tr key={job.id} data-job-id={job.id}>
                  <td>
                    {typeLabel(job.type)}
                    <div className="muted small-text">{job.scope === 'all' ? 'all users' : 'one user'} · {job.mode}</div>
                  </td>
                  <td>
                    <StatusBadge status={job.status} />
                    {job.failureReason && job.status === 'failed' && (
                      <div className="bad-text failure-line" title={job.failureReason}>
                        {job.failureReason}
                      </div>
                    )}
                  </td>
                  <td className="progress-cell">
                    <ProgressBar
                      small
                      label={`${jobLabel(job)} (history)`}
                      percent={progressPercent(job)}
                      processed={job.processedItems}
                      total={job.totalItems}
                      paused={job.status === 'paused'}
                    />
                    <span className="muted">{progressPercent(job)}%</span>
                  </td>
                  <td className="num hide-narrow">
                    {formatNumber(job.processedItems)} / {formatNumber(job.totalItems)}
                    {job.failedItems > 0 && <div className="bad-text">{formatNumber(job.failedItems)} failed</div>}
                  </td>
                  <td className="hide-narrow">{formatDateTime(job.startTime ?? job.createdAt)}</td>
                  <td className="num hide-narrow">{job.duration == null ? '—' : formatDuration(job.duration)}</td>
                  <td>
                    <button
                      type="button"
                      className="small"
                      onClick={() => navigate(`/sync/jobs/${encodeURIComponent(job.id)}`)}
                    >
                      Details<span className="sr-only"> of {jobLabel(job)}</span>
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager
        hasPrevious={cursors.length > 1}
        onPrevious={() => setCursors((c) => c.slice(0, -1))}
        hasNext={!!query.data?.nextCursor}
        onNext={() => setCursors((c) => [...c, query.data?.nextCursor ?? null])}
        pageNumber={cursors.length}
      >
        {query.isFetching && !query.isPending && <span className="muted">Refreshing…</span>}
      </Pager>
    </section>
  );
}
