import { useNavigate, useParams } from 'react-router';
import { canReadAll, useAuth } from '../auth/session';
import { ActivePanel } from '../components/sync/ActivePanel';
import { HistoryTable } from '../components/sync/HistoryTable';
import { JobDetailDialog } from '../components/sync/JobDetailDialog';
import { MlServicePanel } from '../components/sync/MlServicePanel';
import { StartSyncForm } from '../components/sync/StartSyncForm';
import { isActive } from '../lib/progress';
import { useLiveJobs } from '../live/LiveJobs';

/**
 * Start syncs, watch the running ones live beside the external ML service's state (ml_admin and
 * admin), and browse the history (README.md "The web dashboard").
 */
export default function SyncPage() {
  const { jobId } = useParams();
  const navigate = useNavigate();
  const { user } = useAuth();
  const { jobs } = useLiveJobs();
  const showService = canReadAll(user?.role);
  return (
    <section className="page">
      <h1>Sync</h1>
      <section className="panel" aria-labelledby="start-title">
        <h2 id="start-title">Start a sync</h2>
        <div className="start-grid">
          <StartSyncForm type="journal_entries" />
          <StartSyncForm type="goals" />
        </div>
      </section>
      {showService ? (
        <div className="sync-live">
          <ActivePanel />
          <MlServicePanel active={jobs.some((j) => isActive(j.status))} />
        </div>
      ) : (
        <ActivePanel />
      )}
      <HistoryTable />
      {jobId && <JobDetailDialog key={jobId} jobId={jobId} onClose={() => navigate('/sync', { replace: true })} />}
    </section>
  );
}
