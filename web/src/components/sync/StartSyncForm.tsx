import { useId, useState } from 'react';
import type { FormEvent } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { api, errorMessage } from '../../api/client';
import type { Job, SyncMode, SyncStart } from '../../api/types';
import { canReadAll, useAuth } from '../../auth/session';
import { useLiveJobs } from '../../live/LiveJobs';

type Scope = 'all' | 'mine' | 'user';

const kinds = {
  journal_entries: { title: 'Journal entries', button: 'Sync Journal Entries', path: '/api/ml/sync/journal-entries' },
  goals: { title: 'Goals', button: 'Sync Goals', path: '/api/ml/sync/goals' },
} as const;

/** Starts a sync of one source type. ml_admin and admin default to every user's records. */
export function StartSyncForm({ type }: { type: keyof typeof kinds }) {
  const { user } = useAuth();
  const { upsert } = useLiveJobs();
  const queryClient = useQueryClient();
  const all = canReadAll(user?.role);
  const kind = kinds[type];
  const [scope, setScope] = useState<Scope>(all ? 'all' : 'mine');
  const [mode, setMode] = useState<SyncMode>('incremental');
  const [userId, setUserId] = useState('');
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const id = useId();

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setMessage(null);
    const body: SyncStart =
      scope === 'all' ? { scope: 'all', mode } : scope === 'user' ? { userId: userId.trim(), mode } : { mode };
    try {
      const job = await api<Job>(kind.path, { method: 'POST', body });
      upsert(job);
      setMessage({ ok: true, text: `Started a ${kind.title.toLowerCase()} sync.` });
      void queryClient.invalidateQueries({ queryKey: ['jobs'] });
    } catch (err) {
      setMessage({ ok: false, text: errorMessage(err) });
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="start-card" role="group" aria-labelledby={`${id}-title`} onSubmit={submit}>
      <h3 id={`${id}-title`} className="start-title">
        {kind.title}
      </h3>
      <div className="row">
        <label>
          Scope
          <select value={scope} onChange={(e) => setScope(e.target.value as Scope)}>
            {all && <option value="all">All users</option>}
            <option value="mine">My records</option>
            {all && <option value="user">One user</option>}
          </select>
        </label>
        <label>
          Mode
          <select value={mode} onChange={(e) => setMode(e.target.value as SyncMode)}>
            <option value="incremental">Incremental</option>
            <option value="full">Full</option>
          </select>
        </label>
        {scope === 'user' && (
          <label>
            User id
            <input value={userId} onChange={(e) => setUserId(e.target.value)} required placeholder="user id" />
          </label>
        )}
      </div>
      <div>
        <button type="submit" className="primary" disabled={busy}>
          {kind.button}
        </button>
      </div>
      {message && (
        <p className={message.ok ? 'success' : 'error'} role={message.ok ? 'status' : 'alert'}>
          {message.text}
        </p>
      )}
    </form>
  );
}
