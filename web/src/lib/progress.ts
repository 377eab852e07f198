// Job progress math and the state machine's legal actions, mirrored from the server
// (src/domain/job.cpp: progress_percent, next_status, transition) so that the dashboard offers
// exactly the buttons the server accepts.
import type { Job, JobStatus, JobType } from '../api/types';
import { formatNumber } from './format';

type Maybe<T> = T | null | undefined;

const ACTIVE: ReadonlySet<string> = new Set<JobStatus>(['queued', 'running', 'paused', 'interrupted']);
const FINISHED: ReadonlySet<string> = new Set<JobStatus>(['completed', 'failed', 'cancelled']);

/** Queued, running, paused or interrupted (an interrupted job is requeued automatically). */
export function isActive(status: Maybe<JobStatus | string>): boolean {
  return !!status && ACTIVE.has(status);
}

/** Completed, failed or cancelled: nothing will change it again but a retry. */
export function isFinished(status: Maybe<JobStatus | string>): boolean {
  return !!status && FINISHED.has(status);
}

export function isBulk(type: Maybe<JobType | string>): boolean {
  return type === 'bulk_delete' || type === 'bulk_resync';
}

type ProgressFields = Pick<Job, 'status' | 'totalItems' | 'processedItems'>;

/**
 * floor(100 · processed / total), as the server computes it (src/domain/job.cpp): at most 99 until
 * every item is processed, clamped to 0..100; with total 0 it is 100 for a completed job (a sync
 * with nothing to do) and 0 otherwise. Never NaN, whatever the fields hold.
 */
export function progressPercent(job: Maybe<Partial<ProgressFields>>): number {
  if (!job) return 0;
  const total = Number(job.totalItems);
  const processed = Number(job.processedItems);
  if (!Number.isFinite(total) || total <= 0) return job.status === 'completed' ? 100 : 0;
  if (!Number.isFinite(processed) || processed <= 0) return 0;
  if (processed >= total) return job.status === 'completed' || job.status === 'failed' || job.status === 'cancelled' ? 100 : 99;
  return Math.min(99, Math.max(0, Math.floor((100 * processed) / total)));
}

type ActionFields = Pick<Job, 'status'> & Partial<Pick<Job, 'type' | 'failedItems'>>;

/** The server pauses only a running job (running → paused). */
export function canPause(job: Maybe<ActionFields>): boolean {
  return job?.status === 'running';
}

/** The server resumes only a paused job (paused → running). */
export function canResume(job: Maybe<ActionFields>): boolean {
  return job?.status === 'paused';
}

/** Queued, running, paused or interrupted → cancelled. */
export function canCancel(job: Maybe<ActionFields>): boolean {
  return !!job && isActive(job.status);
}

/**
 * A failed or cancelled job runs again (any type). A completed one reruns only its failed items,
 * so it needs some, and a completed bulk job never does (the server answers
 * bulk_items_not_retryable).
 */
export function canRetry(job: Maybe<ActionFields>): boolean {
  if (!job) return false;
  if (job.status === 'failed' || job.status === 'cancelled') return true;
  if (job.status === 'completed') return (job.failedItems ?? 0) > 0 && !isBulk(job.type);
  return false;
}

/**
 * Seconds left, as the server estimated them (it gives one only for a running job with a
 * measured rate); null when unknown.
 */
export function etaFromJob(job: Maybe<Partial<Pick<Job, 'status' | 'etaSeconds'>>>): number | null {
  if (!job || job.status !== 'running') return null;
  const eta = job.etaSeconds;
  if (typeof eta !== 'number' || !Number.isFinite(eta)) return null;
  return Math.max(0, eta);
}

/**
 * The end of a job id, enough to tell jobs apart at a glance. Ids are UUIDv7: their start is
 * the creation time, shared by jobs started together, so the random tail is what differs.
 */
export function shortId(id: Maybe<string>): string {
  if (!id) return '';
  const compact = id.replace(/-/g, '');
  return compact.length <= 8 ? compact : compact.slice(-8);
}

const TYPE_NAMES: Record<string, string> = {
  journal_entries: 'Journal entries',
  goals: 'Goals',
};

export interface JobLabelOptions {
  /** A display name for a user id (the scope's user); the short id when it answers nothing. */
  userName?: (userId: string) => string | null | undefined;
}

type LabelFields = Pick<Job, 'type'> &
  Partial<Pick<Job, 'scope' | 'scopeUserId' | 'totalItems' | 'bulk'>>;

/**
 * A person's name for the job, used as its card's and progressbar's accessible name
 * (docs/ui-contract.md): "Journal entries sync, all users", "Goals sync, user 0000beef",
 * "Bulk delete, 1,200 documents", "Bulk re-sync, matching documents".
 */
export function jobLabel(job: LabelFields, opts: JobLabelOptions = {}): string {
  if (isBulk(job.type)) {
    const what = job.type === 'bulk_delete' ? 'Bulk delete' : 'Bulk re-sync';
    const total = job.totalItems ?? 0;
    const count = total > 0 ? total : (job.bulk?.idCount ?? 0);
    if (count > 0) return `${what}, ${formatNumber(count)} ${count === 1 ? 'document' : 'documents'}`;
    return `${what}, matching documents`;
  }
  const name = TYPE_NAMES[job.type] ?? String(job.type).replace(/_/g, ' ');
  if (job.scope === 'all') return `${name} sync, all users`;
  const uid = job.scopeUserId;
  if (!uid) return `${name} sync`;
  const who = opts.userName?.(uid) || shortId(uid);
  return `${name} sync, user ${who}`;
}

/** The progressbar's accessible name: the label and the job's short id. */
export function jobAccessibleName(job: LabelFields & Pick<Job, 'id'>, opts: JobLabelOptions = {}): string {
  return `${jobLabel(job, opts)} (job ${shortId(job.id)})`;
}
