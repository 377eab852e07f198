// "ML service": the state of the external ML service every sync also delivers to
// (GET /api/ml/service, docs/ml-service-api.md), beside the active jobs on the Sync page, for
// ml_admin and admin only (SyncPage does not render it for a `user`, who would get 403).
//
// Kept fresh without polling everything: a finished job refreshes it (LiveJobs invalidates
// ['ml-service'] with the other lists a job changes); while a job is active it is read again every
// ACTIVE_REFRESH_MS (batches in flight, last acknowledged batch, latency move then), and every
// IDLE_REFRESH_MS otherwise (the latency window is the last 5 minutes, so it ages on its own).
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api, ApiError, errorMessage } from '../../api/client';
import type { MlServiceStatus } from '../../api/types';
import { formatDateTime, formatNumber } from '../../lib/format';
import { shortId } from '../../lib/progress';
import { ErrorState, Loading } from '../States';

export const ML_SERVICE_PATH = '/api/ml/service';
export const ACTIVE_REFRESH_MS = 5_000;
export const IDLE_REFRESH_MS = 60_000;

/** Milliseconds as the panel shows a latency: "42 ms", "1.3 s"; "—" when unknown. */
export function formatLatency(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}

export type ServiceHealth = 'not_configured' | 'waiting' | 'ok' | 'failing';

/**
 * What the panel's badge says: failing when the last error is newer than the last acknowledgement
 * (or nothing was ever acknowledged), ok when a batch was acknowledged since, waiting when the
 * service has been neither reached nor failed since the server started.
 */
export function serviceHealth(s: MlServiceStatus): ServiceHealth {
  if (!s.configured) return 'not_configured';
  const ackAt = s.lastAcknowledgedBatch ? Date.parse(s.lastAcknowledgedBatch.at) : null;
  const errAt = s.lastError?.at ? Date.parse(s.lastError.at) : s.lastError ? Number.POSITIVE_INFINITY : null;
  if (errAt !== null && (ackAt === null || errAt > ackAt)) return 'failing';
  if (ackAt !== null) return 'ok';
  return 'waiting';
}

const healthBadge: Record<ServiceHealth, { text: string; className: string }> = {
  not_configured: { text: 'Not configured', className: 'badge-cancelled' },
  waiting: { text: 'No batch yet', className: 'badge-queued' },
  ok: { text: 'Acknowledging', className: 'badge-completed' },
  failing: { text: 'Failing', className: 'badge-failed' },
};

type AcknowledgedBatch = NonNullable<MlServiceStatus['lastAcknowledgedBatch']>;

/** "480 upserts, 20 deletes (1 rejected)": what the last acknowledged batch carried. */
export function batchSize(b: AcknowledgedBatch): string {
  const count = (n: number, one: string) => `${formatNumber(n)} ${n === 1 ? one : `${one}s`}`;
  const rejected = b.rejected > 0 ? ` (${formatNumber(b.rejected)} rejected)` : '';
  return `${count(b.upserts, 'upsert')}, ${count(b.deletes, 'delete')}${rejected}`;
}

/** The last acknowledged batch: when, what it carried, its job (a link to its detail) and its id. */
function LastBatch({ batch }: { batch: AcknowledgedBatch }) {
  return (
    <>
      {formatDateTime(batch.at)}
      <div className="muted small-text">
        {batchSize(batch)} ·{' '}
        <Link to={`/sync/jobs/${encodeURIComponent(batch.jobId)}`} title={batch.jobId}>
          job {shortId(batch.jobId)}
        </Link>{' '}
        · batch <code title={batch.batchId}>{shortId(batch.batchId)}</code>
      </div>
    </>
  );
}

/** The panel's content for one answer of GET /api/ml/service. */
export function MlServiceView({ status }: { status: MlServiceStatus }) {
  const health = serviceHealth(status);
  const badge = healthBadge[health];
  if (!status.configured) {
    return (
      <>
        <p>
          <span className={`badge ${badge.className}`}>{badge.text}</span>
        </p>
        <p className="muted">
          No external ML service is configured: syncs write to mladmin's own document store only. Set{' '}
          <code>[ml_service] url</code> to deliver every sync to one as well (docs/ml-service-api.md).
        </p>
      </>
    );
  }
  const p50 = status.ackLatencyMs.p50;
  const p99 = status.ackLatencyMs.p99;
  return (
    <>
      <p>
        <span className={`badge ${badge.className}`}>{badge.text}</span>
      </p>
      <dl className="facts">
        <dt>URL</dt>
        <dd>
          <code>{status.url}</code>
        </dd>
        <dt>Last acknowledged batch</dt>
        <dd>
          {status.lastAcknowledgedBatch ? (
            <LastBatch batch={status.lastAcknowledgedBatch} />
          ) : (
            'none since the server started'
          )}
        </dd>
        <dt>Last error</dt>
        <dd>
          {status.lastError ? (
            <>
              <span className="bad-text">{status.lastError.message}</span>
              {status.lastError.at && <div className="muted small-text">at {formatDateTime(status.lastError.at)}</div>}
            </>
          ) : (
            'none'
          )}
        </dd>
        <dt>Requests in flight</dt>
        <dd>{formatNumber(status.inFlight)}</dd>
        <dt>Acknowledgement latency (5 min)</dt>
        <dd>
          {p50 == null && p99 == null
            ? 'no batch acknowledged in the last 5 minutes'
            : `p50 ${formatLatency(p50)} · p99 ${formatLatency(p99)}`}
        </dd>
      </dl>
    </>
  );
}

/** The panel: the query, its refresh, and its states. `active`: a job is queued, running or paused. */
export function MlServicePanel({ active }: { active: boolean }) {
  const query = useQuery({
    queryKey: ['ml-service'],
    queryFn: ({ signal }) => api<MlServiceStatus>(ML_SERVICE_PATH, { signal }),
    refetchInterval: active ? ACTIVE_REFRESH_MS : IDLE_REFRESH_MS,
  });
  // The role changed under the page (the server is the judge): say nothing rather than alarm.
  if (query.error instanceof ApiError && query.error.status === 403) return null;
  return (
    <section className="panel ml-service" aria-labelledby="ml-service-title">
      <h2 id="ml-service-title">ML service</h2>
      {query.data ? (
        <>
          <MlServiceView status={query.data} />
          {query.isError && <p className="muted small-text">Not refreshed: {errorMessage(query.error)}</p>}
        </>
      ) : query.isError ? (
        <ErrorState error={query.error} onRetry={() => void query.refetch()} />
      ) : (
        <Loading label="Reading the ML service's state…" />
      )}
    </section>
  );
}
