import { useLiveJobs } from '../../live/LiveJobs';
import { isActive } from '../../lib/progress';
import { Empty, Loading } from '../States';
import { JobCard } from './JobCard';

/** "Active sync operations": one live card per job that is queued, running, paused or interrupted. */
export function ActivePanel() {
  const { jobs, state, lastEventAt } = useLiveJobs();
  const active = jobs
    .filter((j) => isActive(j.status))
    .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
  return (
    <section className="panel" aria-labelledby="active-title">
      <h2 id="active-title">Active sync operations</h2>
      {active.length > 0 ? (
        active.map((job) => <JobCard key={job.id} job={job} />)
      ) : state === 'connecting' && lastEventAt === null ? (
        <Loading label="Connecting to live updates…" />
      ) : (
        <Empty>No sync is running. Start one above.</Empty>
      )}
    </section>
  );
}
