// The live jobs kept by LiveJobsProvider, as pure functions over an immutable Map so that they
// are easy to test: merge updates (newer wins), apply a snapshot, bound the memory, and say
// whether some job just finished (so that the lists it changed refresh).
import type { Job } from '../api/types';
import { isActive, isFinished } from '../lib/progress';

/** Finished jobs kept beyond the active ones (the newest first). */
export const MAX_FINISHED = 200;

export interface MergeResult {
  jobs: Map<string, Job>;
  /** Something changed: a new Map, otherwise the same one. */
  changed: boolean;
  /** Ids of jobs that entered a finished state with this update. */
  finished: string[];
}

function time(iso: string | null | undefined): number {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(t) ? 0 : t;
}

/** True when `incoming` is at least as recent as `current` (stale updates lose). */
export function isNewer(incoming: Job, current: Job | undefined): boolean {
  if (!current) return true;
  const a = time(incoming.updatedAt);
  const b = time(current.updatedAt);
  if (a !== b) return a > b;
  // Same millisecond: a status change or more progress wins; an older copy of the same does not.
  if (incoming.status !== current.status) return true;
  return (incoming.processedItems ?? 0) >= (current.processedItems ?? 0);
}

function newestFirst(a: Job, b: Job): number {
  const d = time(b.createdAt) - time(a.createdAt);
  if (d !== 0) return d;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** Every job, the newest first (ids are time-ordered, so they break ties). */
export function sortJobs(jobs: Iterable<Job>): Job[] {
  return [...jobs].sort(newestFirst);
}

/** Keeps every active job and the MAX_FINISHED most recent finished ones. */
export function prune(jobs: Map<string, Job>, maxFinished = MAX_FINISHED): Map<string, Job> {
  let finishedCount = 0;
  for (const j of jobs.values()) if (!isActive(j.status)) finishedCount++;
  if (finishedCount <= maxFinished) return jobs;
  const keep = new Map<string, Job>();
  let kept = 0;
  for (const j of sortJobs(jobs.values())) {
    if (isActive(j.status)) keep.set(j.id, j);
    else if (kept < maxFinished) {
      keep.set(j.id, j);
      kept++;
    }
  }
  return keep;
}

/**
 * Merges jobs (from events or a poll). `seenBefore` says whether the map already reflects the
 * server (after the first snapshot or poll): from then on a finished job we never saw active is
 * news too (it ran while we were away), before then it is history.
 */
export function mergeJobs(jobs: Map<string, Job>, updates: Iterable<Job>, seenBefore: boolean): MergeResult {
  let next: Map<string, Job> | null = null;
  const finished: string[] = [];
  for (const job of updates) {
    const map: Map<string, Job> = next ?? jobs;
    const current = map.get(job.id);
    if (!isNewer(job, current)) continue;
    if (isFinished(job.status) && (current ? !isFinished(current.status) : seenBefore)) finished.push(job.id);
    next ??= new Map(jobs);
    next.set(job.id, job);
  }
  if (!next) return { jobs, changed: false, finished };
  return { jobs: prune(next), changed: true, finished };
}

/**
 * A snapshot holds every active job and the newest finished ones: it replaces the active jobs
 * we know (one missing from it is no longer active, so it counts as finished) and adds the
 * finished ones.
 */
export function applySnapshot(jobs: Map<string, Job>, snapshot: Job[], seenBefore: boolean): MergeResult {
  const inSnapshot = new Set(snapshot.map((j) => j.id));
  const next = new Map<string, Job>();
  const finished: string[] = [];
  for (const [id, job] of jobs) {
    if (isActive(job.status) && !inSnapshot.has(id)) {
      finished.push(id); // it ended while we were away; the provider reads its final state
      continue;
    }
    next.set(id, job);
  }
  for (const job of snapshot) {
    const current = next.get(job.id);
    // The snapshot is the server's state now: its active jobs replace ours whatever the clocks say.
    if (!isActive(job.status) && !isNewer(job, current)) continue;
    if (isFinished(job.status) && (current ? !isFinished(current.status) : seenBefore)) finished.push(job.id);
    next.set(job.id, job);
  }
  return { jobs: prune(next), changed: true, finished };
}
