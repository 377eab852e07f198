// One document in full: its text, metadata, the source record it came from (as it is now) and
// the job that last wrote it, with a Delete button that asks once more before deleting.
import { useState } from 'react';
import { useMutation, useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api } from '../../api/client';
import { Dialog } from '../Dialog';
import { ErrorState, Loading } from '../States';
import { formatDateTime, sourceTypeLabel as typeLabel } from '../../lib/format';
import type { DocumentDetail as Detail, SourceRecord } from './types';

interface Props {
  id: string;
  onClose: () => void;
  onDeleted: (doc: { id: string; title: string }) => void;
}

const jobTypeLabel: Record<string, string> = {
  journal_entries: 'Journal entries sync',
  goals: 'Goals sync',
  bulk_delete: 'Bulk delete',
  bulk_resync: 'Bulk re-sync',
};

export function DocumentDetail({ id, onClose, onDeleted }: Props) {
  const [confirming, setConfirming] = useState(false);
  const q = useQuery({
    queryKey: ['document', id],
    queryFn: ({ signal }) => api<Detail>(`/api/ml/documents/${encodeURIComponent(id)}`, { signal }),
  });
  const del = useMutation({
    mutationFn: () => api<void>(`/api/ml/documents/${encodeURIComponent(id)}`, { method: 'DELETE' }),
    onSuccess: () => onDeleted({ id, title: q.data?.title ?? id }),
  });
  const doc = q.data;

  return (
    <Dialog
      title="Document details"
      onClose={onClose}
      className="dialog-wide"
      busy={del.isPending}
      actions={
        <>
          {doc && !confirming && (
            <button type="button" className="danger" onClick={() => setConfirming(true)}>
              Delete
            </button>
          )}
          {doc && confirming && (
            <>
              <span className="confirm-text">Delete this document?</span>
              <button type="button" onClick={() => setConfirming(false)} disabled={del.isPending}>
                Keep it
              </button>
              <button type="button" className="danger primary" onClick={() => del.mutate()} disabled={del.isPending}>
                {del.isPending ? 'Deleting…' : 'Delete document'}
              </button>
            </>
          )}
          <button type="button" onClick={onClose} disabled={del.isPending}>
            Close
          </button>
        </>
      }
    >
      {q.isPending ? (
        <Loading />
      ) : q.isError ? (
        <ErrorState error={q.error} onRetry={() => void q.refetch()} />
      ) : (
        doc && (
          <>
            <h3 className="doc-detail-title">{doc.title}</h3>
            <dl className="facts">
              <dt>Type</dt>
              <dd>{typeLabel[doc.sourceType] ?? doc.sourceType}</dd>
              <dt>User id</dt>
              <dd>
                <code>{doc.userId}</code>
              </dd>
              <dt>Synced</dt>
              <dd>
                <time dateTime={doc.syncedAt}>{formatDateTime(doc.syncedAt)}</time> (version {doc.version})
              </dd>
              <dt>Source written</dt>
              <dd>{formatDateTime(doc.sourceCreatedAt)}</dd>
              <dt>Document id</dt>
              <dd>
                <code>{doc.id}</code>
              </dd>
              <dt>Content hash</dt>
              <dd>
                <code className="hash">{doc.contentHash}</code>
              </dd>
            </dl>
            <section aria-label="Text">
              <h3>Text</h3>
              <div className="doc-text">{doc.text}</div>
            </section>
            {doc.metadata !== undefined && doc.metadata !== null && (
              <section aria-label="Metadata">
                <h3>Metadata</h3>
                <pre className="json">{JSON.stringify(doc.metadata, null, 2)}</pre>
              </section>
            )}
            <SourceSection source={doc.source} sourceId={doc.sourceId} />
            <section aria-label="Written by">
              <h3>Written by</h3>
              {doc.job ? (
                <p>
                  {jobTypeLabel[doc.job.type] ?? doc.job.type}{' '}
                  <span className={`badge badge-${doc.job.status}`}>{doc.job.status}</span>, started{' '}
                  {formatDateTime(doc.job.startTime ?? doc.job.createdAt)} ·{' '}
                  <Link to={`/sync/jobs/${encodeURIComponent(doc.job.id)}`}>Open the job</Link>
                </p>
              ) : (
                <p className="muted">
                  {doc.jobId
                    ? 'The job that wrote it is no longer in the history.'
                    : 'Written directly by a bulk action, not by a sync job.'}
                </p>
              )}
            </section>
          </>
        )
      )}
      {del.isError && <ErrorState error={del.error} />}
    </Dialog>
  );
}

const hiddenSourceKeys = new Set(['id', 'userId', 'deleted']);

function SourceSection({ source, sourceId }: { source: SourceRecord | null; sourceId: string }) {
  return (
    <section aria-label="Source record">
      <h3>
        Source record{' '}
        {source?.deleted && <span className="badge badge-failed">deleted</span>}
        {source === null && <span className="badge badge-cancelled">gone</span>}
      </h3>
      {source === null ? (
        <p className="muted">
          The source record <code>{sourceId}</code> no longer exists.
        </p>
      ) : (
        <>
          {source.deleted && (
            <p className="notice">The source record was deleted: the next sync of this user removes this document.</p>
          )}
          <dl className="facts">
            <dt>Id</dt>
            <dd>
              <code>{source.id}</code>
            </dd>
            {Object.entries(source)
              .filter(([k]) => !hiddenSourceKeys.has(k))
              .map(([k, v]) => (
                <SourceField key={k} name={k} value={v} />
              ))}
          </dl>
        </>
      )}
    </section>
  );
}

function SourceField({ name, value }: { name: string; value: unknown }) {
  let text: string;
  if (value === null || value === undefined) text = '—';
  else if (Array.isArray(value)) text = value.length ? value.join(', ') : '—';
  else if (typeof value === 'object') text = JSON.stringify(value);
  else if (/At$|Date$/.test(name) && typeof value === 'string' && value.includes('T')) text = formatDateTime(value);
  else text = String(value);
  return (
    <>
      <dt>{name}</dt>
      <dd className={name === 'body' || name === 'description' ? 'long-text' : undefined}>{text}</dd>
    </>
  );
}
