// The confirm step of a bulk delete / re-sync: first the same request as a dry run, to say how
// many documents it takes and whether it will run as a background job; then, on confirmation,
// the real request.
import { useMutation, useQuery } from '@tanstack/react-query';
import { api, apiRaw } from '../../api/client';
import type { Job } from '../../api/types';
import { Dialog } from '../Dialog';
import { ErrorState, Loading } from '../States';
import { plural } from '../../lib/format';
import type { BulkAnswer, BulkBody, BulkDryRun, BulkResult } from './types';

const verbs = {
  delete: { title: 'Confirm bulk delete', button: 'Delete', passive: 'deleted' },
  resync: { title: 'Confirm bulk re-sync', button: 'Re-sync', passive: 're-synced' },
} as const;

export async function sendBulk(body: BulkBody): Promise<BulkAnswer> {
  const res = await apiRaw('/api/ml/documents/bulk', { method: 'POST', body: { ...body, dryRun: false } });
  if (res.status === 202) return { kind: 'job', job: (await res.json()) as Job };
  return { kind: 'done', result: (await res.json()) as BulkResult };
}

interface Props {
  body: BulkBody;
  /** What the action targets, for the sentence: "the 3 selected documents", "every document matching …". */
  scopeText: string;
  onClose: () => void;
  onDone: (answer: BulkAnswer) => void;
}

export function BulkDialog({ body, scopeText, onClose, onDone }: Props) {
  const v = verbs[body.action];
  const dry = useQuery({
    queryKey: ['documents', 'bulk-dry-run', body],
    queryFn: ({ signal }) =>
      api<BulkDryRun>('/api/ml/documents/bulk', { method: 'POST', body: { ...body, dryRun: true }, signal }),
    gcTime: 0,
    staleTime: 0,
  });
  const run = useMutation({ mutationFn: () => sendBulk(body), onSuccess: onDone });
  const n = dry.data?.matched ?? 0;

  return (
    <Dialog
      title={v.title}
      onClose={onClose}
      busy={run.isPending}
      actions={
        <>
          <button type="button" onClick={onClose} disabled={run.isPending}>
            Cancel
          </button>
          {dry.data && (
            <button
              type="button"
              className={body.action === 'delete' ? 'danger primary' : 'primary'}
              disabled={run.isPending || n === 0}
              onClick={() => run.mutate()}
            >
              {run.isPending ? `${v.button.replace(/e$/, '')}ing…` : `${v.button} ${plural(n, 'document')}`}
            </button>
          )}
        </>
      }
    >
      <p className="muted">{scopeText}</p>
      {dry.isPending ? (
        <Loading label="Counting the documents…" />
      ) : dry.isError ? (
        <ErrorState error={dry.error} onRetry={() => void dry.refetch()} />
      ) : (
        <>
          <p className="bulk-count">
            <strong>
              {n === 1 ? '1 document' : `${n} documents`} will be {v.passive}
            </strong>
            {n === 0 && ': nothing to do.'}
          </p>
          {dry.data.runsAsJob && (
            <p className="notice">
              That is more than the server handles at once, so it will run as a background job; you can follow
              it on the Sync page.
            </p>
          )}
          {body.action === 'delete' && n > 0 && (
            <p className="muted">Deleted documents come back only when their source records are synced again.</p>
          )}
        </>
      )}
      {run.isError && <ErrorState error={run.error} />}
    </Dialog>
  );
}
