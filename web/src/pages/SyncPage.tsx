import { useNavigate, useParams } from 'react-router';
import { ActivePanel } from '../components/sync/ActivePanel';
import { HistoryTable } from '../components/sync/HistoryTable';
import { JobDetailDialog } from '../components/sync/JobDetailDialog';
import { StartSyncForm } from '../components/sync/StartSyncForm';

/** Start syncs, watch the running ones live, and browse the history (README.md "The web dashboard"). */
export default function SyncPage() {
  const { jobId } = useParams();
  const navigate = useNavigate();
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
      <ActivePanel />
      <HistoryTable />
      {jobId && <JobDetailDialog key={jobId} jobId={jobId} onClose={() => navigate('/sync', { replace: true })} />}
    </section>
  );
}
