import { useState } from 'react';
import { api, errorMessage } from '../../api/client';
import type { Job } from '../../api/types';
import { useLiveJobs } from '../../live/LiveJobs';

export type JobAction = 'pause' | 'resume' | 'cancel' | 'retry';

/** POST /api/ml/sync/job/:id/<action>; the answer (the job as it is now) updates the live map. */
export function useJobAction() {
  const { upsert } = useLiveJobs();
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function run(job: Job, action: JobAction): Promise<Job | null> {
    setBusy(`${job.id}:${action}`);
    setError(null);
    try {
      const updated = await api<Job>(`/api/ml/sync/job/${encodeURIComponent(job.id)}/${action}`, {
        method: 'POST',
      });
      if (updated && typeof updated === 'object' && 'id' in updated) upsert(updated);
      return updated;
    } catch (err) {
      setError(errorMessage(err));
      return null;
    } finally {
      setBusy(null);
    }
  }

  return { run, busy, error, clearError: () => setError(null) };
}
