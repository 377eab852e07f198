import { useEffect, useRef, useState } from 'react';
import { useLiveJobs } from '../../live/LiveJobs';
import { isActive } from '../../lib/progress';
import { Empty, Loading } from '../States';
import { JobCard } from './JobCard';

/** How long a job this page watched stays in the panel after it ends, showing how it ended. */
export const LINGER_MS = 5_000;

/**
 * "Active sync operations": one live card per job that is queued, running, paused or
 * interrupted. A job seen running here stays a few seconds after it ends, so that its bar is
 * seen at 100 % (or stopped, when cancelled or failed) before it moves to the history.
 */
export function ActivePanel() {
  const { jobs, state, lastEventAt } = useLiveJobs();
  const watched = useRef(new Set<string>());
  const [ended, setEnded] = useState<Map<string, number>>(() => new Map());

  useEffect(() => {
    const now = Date.now();
    let next: Map<string, number> | null = null;
    for (const j of jobs) {
      if (isActive(j.status)) {
        watched.current.add(j.id);
      } else if (watched.current.delete(j.id)) {
        next ??= new Map(ended);
        next.set(j.id, now);
      }
    }
    if (next) setEnded(next);
  }, [jobs, ended]);

  useEffect(() => {
    if (ended.size === 0) return;
    const oldest = Math.min(...ended.values());
    const t = setTimeout(
      () => {
        const cutoff = Date.now() - LINGER_MS;
        setEnded((m) => new Map([...m].filter(([, at]) => at > cutoff)));
      },
      Math.max(0, oldest + LINGER_MS - Date.now()),
    );
    return () => clearTimeout(t);
  }, [ended]);

  const shown = jobs
    .filter((j) => isActive(j.status) || ended.has(j.id))
    .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
  return (
    <section className="panel" aria-labelledby="active-title">
      <h2 id="active-title">Active sync operations</h2>
      {shown.length > 0 ? (
        shown.map((job) => <JobCard key={job.id} job={job} />)
      ) : state === 'connecting' && lastEventAt === null ? (
        <Loading label="Connecting to live updates…" />
      ) : state !== 'live' && lastEventAt === null ? (
        <p className="state state-error" role="alert">
          Cannot reach the server for the running syncs. Retrying…
        </p>
      ) : (
        <Empty>No sync is running. Start one above.</Empty>
      )}
    </section>
  );
}
