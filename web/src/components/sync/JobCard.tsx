import type { Job } from '../../api/types';
import { formatEta, formatNumber, formatRate } from '../../lib/format';
import { canCancel, canPause, canResume, jobLabel, progressPercent } from '../../lib/progress';
import { ProgressBar } from './ProgressBar';
import { StatusBadge } from './StatusBadge';
import { useJobAction } from './useJobAction';

/** One active job in the "Active sync operations" panel: a live bar, its figures and controls. */
export function JobCard({ job }: { job: Job }) {
  const label = jobLabel(job);
  const percent = progressPercent(job);
  const { run, busy, error } = useJobAction();
  const pending = (a: string) => busy === `${job.id}:${a}`;
  return (
    <article className="job-card" aria-label={label} data-job-id={job.id}>
      <div className="title">
        <span>{label}</span>
        <StatusBadge status={job.status} />
        {job.cancelRequested && <span className="muted">cancelling…</span>}
        <span className="spacer" />
        <span className="percent">{percent}%</span>
      </div>
      <ProgressBar
        label={label}
        percent={percent}
        processed={job.processedItems}
        total={job.totalItems}
        paused={job.status === 'paused'}
      />
      <div className="figures">
        <span>
          <b>{formatNumber(job.processedItems)}</b> / {formatNumber(job.totalItems)} processed
        </span>
        <span>
          <b>{formatNumber(job.syncedItems)}</b> synced
        </span>
        <span>
          <b>{formatNumber(job.failedItems)}</b> failed
        </span>
        <span>
          <b>{formatNumber(job.skippedItems)}</b> skipped
        </span>
        <span>
          <b>{formatRate(job.itemsPerSecond)}</b>
        </span>
        <span>
          ETA <b>{job.status === 'running' ? formatEta(job.etaSeconds) : '—'}</b>
        </span>
      </div>
      <div className="actions">
        {canPause(job) && (
          <button type="button" onClick={() => void run(job, 'pause')} disabled={pending('pause')}>
            Pause
          </button>
        )}
        {canResume(job) && (
          <button type="button" onClick={() => void run(job, 'resume')} disabled={pending('resume')}>
            Resume
          </button>
        )}
        {canCancel(job) && (
          <button
            type="button"
            className="danger"
            onClick={() => void run(job, 'cancel')}
            disabled={pending('cancel') || job.cancelRequested}
          >
            Cancel
          </button>
        )}
      </div>
      {job.failureReason && (job.status === 'failed' || job.status === 'interrupted') && (
        <p className="bad-text job-failure">{job.failureReason}</p>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </article>
  );
}
