import { describe, expect, it } from 'vitest';
import type { Job, JobStatus } from '../api/types';
import {
  canCancel,
  canPause,
  canResume,
  canRetry,
  etaFromJob,
  isActive,
  isFinished,
  jobAccessibleName,
  jobLabel,
  progressPercent,
  shortId,
} from './progress';
import { makeJob } from '../live/testing';

/** A job as the server sends it; the shared test factory, not started yet. */
function job(over: Partial<Job> = {}): Job {
  return makeJob({ id: '01968d2e-7b3c-7a10-8f00-0123456789ab', startTime: null, ...over });
}

const ALL: JobStatus[] = ['queued', 'running', 'paused', 'completed', 'failed', 'cancelled', 'interrupted'];

describe('progressPercent', () => {
  it('floors processed/total like the server, reading 100 only when every item is processed', () => {
    expect(progressPercent(job({ totalItems: 200, processedItems: 1 }))).toBe(0); // 0.5 floors
    expect(progressPercent(job({ totalItems: 3, processedItems: 1 }))).toBe(33);
    expect(progressPercent(job({ totalItems: 3, processedItems: 2 }))).toBe(66);
    expect(progressPercent(job({ totalItems: 1_000_000, processedItems: 999_999 }))).toBe(99);
    expect(progressPercent(job({ totalItems: 200, processedItems: 199 }))).toBe(99);
    expect(progressPercent(job({ status: 'running', totalItems: 200, processedItems: 200 }))).toBe(99);
    expect(progressPercent(job({ status: 'completed', totalItems: 200, processedItems: 200 }))).toBe(100);
  });
  it('gives 100 for a completed job with nothing to do, 0 for others', () => {
    expect(progressPercent(job({ status: 'completed', totalItems: 0, processedItems: 0 }))).toBe(100);
    expect(progressPercent(job({ status: 'running', totalItems: 0, processedItems: 0 }))).toBe(0);
    expect(progressPercent(job({ status: 'queued', totalItems: 0 }))).toBe(0);
  });
  it('clamps and never answers NaN', () => {
    expect(progressPercent(job({ status: 'completed', totalItems: 10, processedItems: 15 }))).toBe(100);
    expect(progressPercent(job({ totalItems: 10, processedItems: -3 }))).toBe(0);
    expect(progressPercent(job({ totalItems: NaN, processedItems: 3 }))).toBe(0);
    expect(progressPercent(job({ totalItems: 10, processedItems: NaN }))).toBe(0);
    expect(progressPercent({ status: 'running' })).toBe(0);
    expect(progressPercent(null)).toBe(0);
    expect(progressPercent(undefined)).toBe(0);
  });
});

describe('isActive / isFinished', () => {
  it('splits the statuses as the server does', () => {
    expect(ALL.filter(isActive)).toEqual(['queued', 'running', 'paused', 'interrupted']);
    expect(ALL.filter(isFinished)).toEqual(['completed', 'failed', 'cancelled']);
    expect(isActive(undefined)).toBe(false);
    expect(isFinished(null)).toBe(false);
  });
});

describe('actions follow the server state machine', () => {
  const allowed = (f: (j: Job) => boolean, over: Partial<Job> = {}) =>
    ALL.filter((status) => f(job({ ...over, status })));

  it('pauses only running jobs and resumes only paused ones', () => {
    expect(allowed(canPause)).toEqual(['running']);
    expect(allowed(canResume)).toEqual(['paused']);
  });
  it('cancels every active job', () => {
    expect(allowed(canCancel)).toEqual(['queued', 'running', 'paused', 'interrupted']);
  });
  it('retries failed and cancelled jobs, and completed syncs with failed items', () => {
    expect(allowed(canRetry)).toEqual(['failed', 'cancelled']);
    expect(allowed(canRetry, { failedItems: 3 })).toEqual(['completed', 'failed', 'cancelled']);
    expect(allowed(canRetry, { type: 'goals', failedItems: 1 })).toContain('completed');
  });
  it('never retries the failed items of a completed bulk job', () => {
    expect(allowed(canRetry, { type: 'bulk_delete', failedItems: 3 })).toEqual(['failed', 'cancelled']);
    expect(allowed(canRetry, { type: 'bulk_resync', failedItems: 3 })).toEqual(['failed', 'cancelled']);
  });
  it('is null safe', () => {
    expect(canPause(null)).toBe(false);
    expect(canCancel(undefined)).toBe(false);
    expect(canRetry(null)).toBe(false);
  });
});

describe('etaFromJob', () => {
  it('uses the server estimate of a running job', () => {
    expect(etaFromJob(job({ status: 'running', etaSeconds: 42 }))).toBe(42);
    expect(etaFromJob(job({ status: 'running', etaSeconds: null }))).toBeNull();
    expect(etaFromJob(job({ status: 'paused', etaSeconds: 42 }))).toBeNull();
    expect(etaFromJob(job({ status: 'completed', etaSeconds: 0 }))).toBeNull();
    expect(etaFromJob(null)).toBeNull();
  });
});

describe('jobLabel', () => {
  // docs/ui-contract.md: the active job's article is named "Journal entries sync, all users".
  it('names syncs by type and scope', () => {
    expect(jobLabel(job({ type: 'journal_entries', scope: 'all' }))).toBe('Journal entries sync, all users');
    expect(jobLabel(job({ type: 'goals', scope: 'user', scopeUserId: '01968d2e-0000-7000-8000-00000000beef' }))).toBe(
      'Goals sync, user 0000beef',
    );
    expect(
      jobLabel(job({ type: 'goals', scope: 'user', scopeUserId: 'u-42' }), {
        userName: (id) => (id === 'u-42' ? 'ada@example.com' : null),
      }),
    ).toBe('Goals sync, user ada@example.com');
  });
  it('names bulk jobs by their document count', () => {
    expect(jobLabel(job({ type: 'bulk_delete', totalItems: 1200 }))).toBe('Bulk delete, 1,200 documents');
    expect(jobLabel(job({ type: 'bulk_resync', totalItems: 1 }))).toBe('Bulk re-sync, 1 document');
    expect(jobLabel(job({ type: 'bulk_delete', totalItems: 0, bulk: { action: 'delete', idCount: 1500 } }))).toBe(
      'Bulk delete, 1,500 documents',
    );
    expect(jobLabel(job({ type: 'bulk_resync', totalItems: 0, bulk: { action: 'resync', filter: { q: 'x' } } }))).toBe(
      'Bulk re-sync, matching documents',
    );
  });
  it('adds the distinguishing end of the id to the accessible name', () => {
    expect(shortId('01968d2e-7b3c-7a10-8f00-0123456789ab')).toBe('456789ab');
    expect(jobAccessibleName(job())).toBe('Journal entries sync, all users (job 456789ab)');
    // Two jobs created in the same millisecond share their id's start, not its end.
    const a = jobAccessibleName(job({ id: '01968d2e-7b3c-7a10-8f00-000000000001' }));
    const b = jobAccessibleName(job({ id: '01968d2e-7b3c-7a10-8f00-000000000002' }));
    expect(a).not.toBe(b);
  });
});
