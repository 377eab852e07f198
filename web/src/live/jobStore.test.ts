import { describe, expect, it } from 'vitest';
import type { Job } from '../api/types';
import { applySnapshot, isNewer, mergeJobs, prune, sortJobs } from './jobStore';
import { makeJob } from './testing';

const at = (s: number) => new Date(Date.UTC(2026, 2, 14, 9, 0, s)).toISOString();

function mapOf(...jobs: Job[]): Map<string, Job> {
  return new Map(jobs.map((j) => [j.id, j]));
}

describe('isNewer', () => {
  it('lets the later updatedAt win', () => {
    const old = makeJob({ id: 'a', updatedAt: at(1), processedItems: 50 });
    const fresh = makeJob({ id: 'a', updatedAt: at(2), processedItems: 10 });
    expect(isNewer(fresh, old)).toBe(true);
    expect(isNewer(old, fresh)).toBe(false);
    expect(isNewer(old, undefined)).toBe(true);
  });
  it('breaks a same-millisecond tie by status change or progress', () => {
    const a = makeJob({ id: 'a', updatedAt: at(1), processedItems: 50 });
    expect(isNewer({ ...a, processedItems: 49 }, a)).toBe(false);
    expect(isNewer({ ...a, processedItems: 50 }, a)).toBe(true);
    expect(isNewer({ ...a, status: 'paused', processedItems: 49 }, a)).toBe(true);
  });
});

describe('mergeJobs', () => {
  it('adds and replaces jobs, ignoring stale copies', () => {
    const start = mapOf(makeJob({ id: 'a', updatedAt: at(5), processedItems: 5 }));
    const r = mergeJobs(
      start,
      [makeJob({ id: 'a', updatedAt: at(4), processedItems: 1 }), makeJob({ id: 'b', updatedAt: at(4) })],
      true,
    );
    expect(r.changed).toBe(true);
    expect(r.jobs).not.toBe(start);
    expect(r.jobs.get('a')?.processedItems).toBe(5);
    expect(r.jobs.has('b')).toBe(true);
    expect(start.has('b')).toBe(false); // the old map is left alone

    const same = mergeJobs(r.jobs, [makeJob({ id: 'a', updatedAt: at(1) })], true);
    expect(same.changed).toBe(false);
    expect(same.jobs).toBe(r.jobs);
  });

  it('reports jobs that enter a finished state', () => {
    const start = mapOf(makeJob({ id: 'a', updatedAt: at(1) }), makeJob({ id: 'done', status: 'failed', updatedAt: at(1) }));
    const r = mergeJobs(
      start,
      [
        makeJob({ id: 'a', status: 'completed', updatedAt: at(2) }),
        makeJob({ id: 'done', status: 'failed', updatedAt: at(3) }), // was finished already
      ],
      true,
    );
    expect(r.finished).toEqual(['a']);
    expect(mergeJobs(start, [makeJob({ id: 'a', processedItems: 9, updatedAt: at(2) })], true).finished).toEqual([]);
  });

  it('counts a finished job seen for the first time only once the map reflects the server', () => {
    const fresh = makeJob({ id: 'n', status: 'cancelled', updatedAt: at(2) });
    expect(mergeJobs(new Map(), [fresh], false).finished).toEqual([]);
    expect(mergeJobs(new Map(), [fresh], true).finished).toEqual(['n']);
  });
});

describe('applySnapshot', () => {
  it('replaces the active jobs and adds the finished ones', () => {
    const start = mapOf(
      makeJob({ id: 'gone', status: 'running', updatedAt: at(1) }),
      makeJob({ id: 'kept', status: 'running', updatedAt: at(9), processedItems: 90 }),
      makeJob({ id: 'old', status: 'completed', updatedAt: at(1) }),
    );
    const r = applySnapshot(
      start,
      [
        makeJob({ id: 'kept', status: 'running', updatedAt: at(8), processedItems: 80 }),
        makeJob({ id: 'new', status: 'queued', updatedAt: at(8) }),
        makeJob({ id: 'fin', status: 'completed', updatedAt: at(8) }),
      ],
      true,
    );
    expect([...r.jobs.keys()].sort()).toEqual(['fin', 'kept', 'new', 'old']);
    // The snapshot is the server's present: its copy of an active job wins.
    expect(r.jobs.get('kept')?.processedItems).toBe(80);
    // An active job missing from it is no longer active, and so is news for the lists.
    expect(r.finished.sort()).toEqual(['fin', 'gone']);
  });

  it('brings no news on the first load', () => {
    const r = applySnapshot(new Map(), [makeJob({ id: 'fin', status: 'completed' })], false);
    expect(r.finished).toEqual([]);
    expect(r.jobs.size).toBe(1);
  });
});

describe('prune and sortJobs', () => {
  it('keeps every active job and the newest finished ones', () => {
    const jobs: Job[] = [];
    for (let i = 0; i < 10; i++) {
      jobs.push(makeJob({ id: `f${i}`, status: 'completed', createdAt: at(i) }));
    }
    jobs.push(makeJob({ id: 'run', status: 'running', createdAt: at(0) }));
    const kept = prune(mapOf(...jobs), 3);
    expect([...kept.keys()].sort()).toEqual(['f7', 'f8', 'f9', 'run']);
  });

  it('sorts the newest first', () => {
    const sorted = sortJobs([
      makeJob({ id: 'b', createdAt: at(1) }),
      makeJob({ id: 'c', createdAt: at(2) }),
      makeJob({ id: 'a', createdAt: at(1) }),
    ]);
    expect(sorted.map((j) => j.id)).toEqual(['c', 'b', 'a']);
  });
});
