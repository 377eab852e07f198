import { useState } from 'react';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { api } from '../../api/client';
import type { Job, JobItemErrorPage } from '../../api/types';
import { useAuth } from '../../auth/session';
import { useLiveJobs } from '../../live/LiveJobs';
import { formatDateTime, formatDuration, formatEta, formatNumber, formatRate } from '../../lib/format';
import { canRetry, jobLabel, progressPercent } from '../../lib/progress';
import { Dialog } from '../Dialog';
import { Empty, ErrorState, Loading } from '../States';
import { ProgressBar } from './ProgressBar';
import { StatusBadge } from './StatusBadge';
import { typeLabel } from './HistoryTable';
import { useJobAction } from './useJobAction';

/**
 * What the job's failureReason is called: why it failed, why it stopped (interrupted,
 * cancelled), or, once retried, why an earlier attempt stopped.
 */
export function failureTitle(job: Pick<Job, 'status'>): string {
  if (job.status === 'failed') return 'Why it failed';
  if (job.status === 'interrupted' || job.status === 'cancelled') return 'Why it stopped';
  return 'Why an earlier attempt stopped';
}

/** The job detail view (a modal dialog): every figure of the job and all its item errors. */
export function JobDetailDialog({ jobId, onClose }: { jobId: string; onClose: () => void }) {
  const { byId } = useLiveJobs();
  const { user } = useAuth();
  const [retried, setRetried] = useState<string | null>(null);
  const { run, busy, error: actionError } = useJobAction();

  const jobQuery = useQuery({
    queryKey: ['jobs', 'detail', jobId],
    queryFn: ({ signal }) => api<Job>(`/api/ml/sync/job/${encodeURIComponent(jobId)}`, { signal }),
  });
  const errorsQuery = useInfiniteQuery({
    queryKey: ['jobs', 'errors', jobId],
    queryFn: ({ pageParam, signal }) =>
      api<JobItemErrorPage>(`/api/ml/sync/job/${encodeURIComponent(jobId)}/errors`, {
        params: { limit: 100, cursor: pageParam },
        signal,
      }),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor,
  });

  const live = byId.get(jobId);
  const fetched = jobQuery.data;
  const job = live && (!fetched || live.updatedAt >= fetched.updatedAt) ? live : fetched;
  const errors = errorsQuery.data?.pages.flatMap((p) => p.items) ?? [];

  return (
    <Dialog
      title="Job details"
      onClose={onClose}
      className="dialog-wide"
      actions={
        <button type="button" onClick={onClose} autoFocus>
          Close
        </button>
      }
    >
      {jobQuery.isPending && !job ? (
        <Loading />
      ) : !job ? (
        <ErrorState error={jobQuery.error} onRetry={() => void jobQuery.refetch()} />
      ) : (
        <>
          <p>
            <strong>{jobLabel(job)}</strong> <StatusBadge status={job.status} />
          </p>
          {job.failureReason && (
            <div className="error job-failure" role="group" aria-label={failureTitle(job)}>
              <strong>{failureTitle(job)}:</strong> <span className="job-failure-reason">{job.failureReason}</span>
            </div>
          )}
          <ProgressBar
            label={`${jobLabel(job)} (details)`}
            percent={progressPercent(job)}
            processed={job.processedItems}
            total={job.totalItems}
            paused={job.status === 'paused'}
          />
          <dl className="facts">
            <dt>Id</dt>
            <dd>
              <code>{job.id}</code>
            </dd>
            <dt>Type</dt>
            <dd>
              {typeLabel(job.type)} · {job.mode}
            </dd>
            <dt>Scope</dt>
            <dd>{job.scope === 'all' ? 'All users' : `User ${job.scopeUserId ?? ''}`}</dd>
            {job.bulk && (
              <>
                <dt>Bulk action</dt>
                <dd>
                  {job.bulk.action}
                  {job.bulk.idCount != null ? ` of ${formatNumber(job.bulk.idCount)} documents` : ''}
                  {job.bulk.filter ? ` matching ${JSON.stringify(job.bulk.filter)}` : ''}
                </dd>
              </>
            )}
            <dt>Started by</dt>
            <dd>{job.userId === user?.id ? `you (${user.email})` : job.userId}</dd>
            <dt>Progress</dt>
            <dd>
              {progressPercent(job)}% — {formatNumber(job.processedItems)} of {formatNumber(job.totalItems)}
            </dd>
            <dt>Synced / skipped / failed</dt>
            <dd>
              {formatNumber(job.syncedItems)} / {formatNumber(job.skippedItems)} / {formatNumber(job.failedItems)}
            </dd>
            <dt>Speed</dt>
            <dd>
              {formatRate(job.itemsPerSecond)}
              {job.status === 'running' ? `, ETA ${formatEta(job.etaSeconds)}` : ''}
            </dd>
            <dt>Created</dt>
            <dd>{formatDateTime(job.createdAt)}</dd>
            <dt>Started</dt>
            <dd>{job.startTime ? formatDateTime(job.startTime) : '—'}</dd>
            <dt>Ended</dt>
            <dd>{job.endTime ? formatDateTime(job.endTime) : '—'}</dd>
            <dt>Duration</dt>
            <dd>{job.duration == null ? '—' : formatDuration(job.duration)}</dd>
            <dt>Attempt</dt>
            <dd>{job.attempt}</dd>
          </dl>
          {canRetry(job) && (
            <div>
              <button
                type="button"
                onClick={() =>
                  void run(job, 'retry').then((j) => {
                    if (j) setRetried(`Retry started: attempt ${j.attempt}.`);
                  })
                }
                disabled={busy !== null}
              >
                {job.status === 'completed' ? 'Retry failed items' : 'Retry'}
              </button>
            </div>
          )}
          {retried && (
            <p className="success" role="status">
              {retried}
            </p>
          )}
          {actionError && (
            <p className="error" role="alert">
              {actionError}
            </p>
          )}
          <h3>Item errors ({formatNumber(job.errorCount)})</h3>
          {errorsQuery.isPending ? (
            <Loading />
          ) : errorsQuery.isError ? (
            <ErrorState error={errorsQuery.error} onRetry={() => void errorsQuery.refetch()} />
          ) : errors.length === 0 ? (
            <Empty>No item failed.</Empty>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Item</th>
                    <th scope="col">Reason</th>
                    <th scope="col" className="hide-narrow">
                      At
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {errors.map((e, i) => (
                    <tr key={`${e.itemId}-${i}`}>
                      <td>
                        <code>{e.itemId}</code>
                      </td>
                      <td>{e.reason}</td>
                      <td className="hide-narrow">{formatDateTime(e.at)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {errorsQuery.hasNextPage && (
                <button
                  type="button"
                  onClick={() => void errorsQuery.fetchNextPage()}
                  disabled={errorsQuery.isFetchingNextPage}
                >
                  Show more errors
                </button>
              )}
            </div>
          )}
        </>
      )}
    </Dialog>
  );
}
