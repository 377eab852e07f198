// Documents (ml_admin, admin): full-text search over the synced documents with filters kept in
// the address, cursor paging, a detail view with delete, and bulk delete / re-sync of the
// selected documents or of everything the current filter matches, each after a dry-run count.
import { useEffect, useMemo, useState } from 'react';
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router';
import { api, ApiError } from '../api/client';
import type { DocumentPage } from '../api/types';
import { BulkDialog } from '../components/documents/BulkDialog';
import { useCursorPaging } from '../components/documents/cursorPaging';
import { DocumentDetail } from '../components/documents/DocumentDetail';
import { plural, sourceTypeLabel as typeLabel } from '../lib/format';
import { ResultsTable } from '../components/documents/ResultsTable';
import { apiFilter, isEmptyFilter, listParams, readSearch, searchToParams } from '../components/documents/search';
import type { DocSearch } from '../components/documents/search';
import { SearchForm } from '../components/documents/SearchForm';
import type { BulkAction, BulkAnswer, BulkBody } from '../components/documents/types';
import { Empty, ErrorState, Loading } from '../components/States';
import { AddressPager } from '../components/Pager';

const PAGE_SIZE = 50;

interface Feedback {
  kind: 'success' | 'notice';
  text: string;
  details?: string[];
  jobId?: string;
}

interface PendingBulk {
  body: BulkBody;
  scopeText: string;
}

export default function DocumentsPage() {
  const [searchParams] = useSearchParams();
  const paging = useCursorPaging();
  const queryClient = useQueryClient();
  const paramsKey = searchParams.toString();
  const search = useMemo(() => readSearch(new URLSearchParams(paramsKey)), [paramsKey]);
  const filter = useMemo(() => apiFilter(search), [search]);
  const filterKey = JSON.stringify(filter);

  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [openId, setOpenId] = useState<string | null>(null);
  const [bulk, setBulk] = useState<PendingBulk | null>(null);
  const [feedback, setFeedback] = useState<Feedback | null>(null);

  // A different filter is a different set of documents: drop the selection.
  useEffect(() => setSelected(new Set()), [filterKey]);

  const params = listParams(search, paging.cursor, PAGE_SIZE);
  const list = useQuery({
    queryKey: ['documents', params],
    queryFn: ({ signal }) => api<DocumentPage>('/api/ml/documents', { params, signal }),
    placeholderData: keepPreviousData,
  });
  const requestError = list.error instanceof ApiError && list.error.status === 400 ? list.error : null;
  const items = list.data?.items ?? [];

  function apply(next: DocSearch) {
    setFeedback(null);
    paging.setFilters(searchToParams(next));
  }

  function toggle(id: string, on: boolean) {
    setSelected((s) => {
      const n = new Set(s);
      if (on) n.add(id);
      else n.delete(id);
      return n;
    });
  }
  function togglePage(on: boolean) {
    setSelected((s) => {
      const n = new Set(s);
      for (const d of items) {
        if (on) n.add(d.id);
        else n.delete(d.id);
      }
      return n;
    });
  }

  function startBulk(action: BulkAction, target: 'selected' | 'matching') {
    setFeedback(null);
    if (target === 'selected') {
      const ids = [...selected];
      setBulk({ body: { action, ids }, scopeText: `The ${plural(ids.length, 'selected document')}.` });
    } else {
      const all = isEmptyFilter(filter);
      setBulk({
        body: all ? { action, filter: {}, all: true } : { action, filter },
        scopeText: all ? 'No filter is set: this takes every document.' : `Every document matching ${describe(search)}.`,
      });
    }
  }

  function bulkDone(answer: BulkAnswer) {
    setBulk(null);
    setSelected(new Set());
    setFeedback(summarize(answer));
    void queryClient.invalidateQueries({ queryKey: ['documents'] });
  }

  function deleted(doc: { id: string; title: string }) {
    setOpenId(null);
    toggle(doc.id, false);
    setFeedback({ kind: 'success', text: `Deleted the document “${doc.title}”.` });
    void queryClient.invalidateQueries({ queryKey: ['documents'] });
  }

  const canActOnMatching = !list.isError && items.length > 0;

  return (
    <section className="page documents-page" aria-labelledby="documents-title">
      <div className="page-head">
        <h1 id="documents-title">Documents</h1>
      </div>

      <SearchForm applied={search} onApply={apply} requestError={requestError} />

      <div role="status" className="feedback">
        {feedback && (
          <div className={feedback.kind}>
            <p>
              {feedback.text}
              {feedback.jobId && (
                <>
                  {' '}
                  <Link to={`/sync/jobs/${encodeURIComponent(feedback.jobId)}`}>Follow it on the Sync page</Link>
                </>
              )}
            </p>
            {feedback.details && feedback.details.length > 0 && (
              <ul>
                {feedback.details.map((d, i) => (
                  <li key={i}>{d}</li>
                ))}
              </ul>
            )}
          </div>
        )}
      </div>

      <div className="panel">
        <div className="row bulk-bar" role="group" aria-label="Selection">
          <span className="selection-count">
            {selected.size > 0 ? `${selected.size} selected` : 'None selected'}
          </span>
          {selected.size > 0 && (
            <button type="button" className="small" onClick={() => setSelected(new Set())}>
              Clear selection
            </button>
          )}
          <span className="spacer" />
          <button type="button" className="danger" disabled={selected.size === 0} onClick={() => startBulk('delete', 'selected')}>
            Delete selected
          </button>
          <button type="button" disabled={selected.size === 0} onClick={() => startBulk('resync', 'selected')}>
            Re-sync selected
          </button>
          <button type="button" className="danger" disabled={!canActOnMatching} onClick={() => startBulk('delete', 'matching')}>
            Delete all matching
          </button>
          <button type="button" disabled={!canActOnMatching} onClick={() => startBulk('resync', 'matching')}>
            Re-sync all matching
          </button>
        </div>

        {list.isPending ? (
          <Loading />
        ) : requestError ? (
          requestError.details.field === 'cursor' ? (
            <p className="state state-empty">
              This page of results has expired.{' '}
              <button type="button" className="small" onClick={() => apply(search)}>
                Go to the first page
              </button>
            </p>
          ) : (
            <p className="state state-empty">Correct the search above to see documents.</p>
          )
        ) : list.isError ? (
          <ErrorState error={list.error} onRetry={() => void list.refetch()} />
        ) : items.length === 0 ? (
          <Empty>
            No documents match{isEmptyFilter(filter) ? ': none have been synced yet. Start a sync on the Sync page.' : '.'}
          </Empty>
        ) : (
          <>
            {list.isFetching && list.isPlaceholderData && <p className="sr-only" role="status">Loading…</p>}
            <ResultsTable
              items={items}
              selected={selected}
              onToggle={toggle}
              onTogglePage={togglePage}
              onOpen={(d) => setOpenId(d.id)}
              showScore={items.some((d) => typeof d.score === 'number')}
            />
          </>
        )}

        <AddressPager paging={paging} nextCursor={list.data?.nextCursor} stale={list.isPlaceholderData} />
      </div>

      {openId && <DocumentDetail id={openId} onClose={() => setOpenId(null)} onDeleted={deleted} />}
      {bulk && (
        <BulkDialog body={bulk.body} scopeText={bulk.scopeText} onClose={() => setBulk(null)} onDone={bulkDone} />
      )}
    </section>
  );
}

/** The filter in words, for the confirm dialog. */
function describe(s: DocSearch): string {
  const parts: string[] = [];
  if (s.q.trim()) parts.push(`“${s.q.trim()}”`);
  if (s.type) parts.push(`type ${typeLabel[s.type] ?? s.type}`);
  if (s.userId.trim()) parts.push(`user ${s.userId.trim()}`);
  const which = s.dateField === 'source' ? 'written' : 'synced';
  if (s.from && s.to) parts.push(`${which} ${s.from} to ${s.to}`);
  else if (s.from) parts.push(`${which} from ${s.from}`);
  else if (s.to) parts.push(`${which} up to ${s.to}`);
  return parts.join(', ');
}

function summarize(answer: BulkAnswer): Feedback {
  if (answer.kind === 'job') {
    const verb = answer.job.type === 'bulk_resync' ? 're-sync' : 'delete';
    return {
      kind: 'notice',
      text: `Running as a background job: the bulk ${verb}${
        answer.job.totalItems > 0 ? ` of ${plural(answer.job.totalItems, 'document')}` : ''
      }.`,
      jobId: answer.job.id,
    };
  }
  const r = answer.result;
  const parts: string[] = [];
  if (r.action === 'delete') parts.push(`${plural(r.deleted, 'document')} deleted`);
  else {
    parts.push(`${plural(r.resynced ?? 0, 'document')} re-synced`);
    if (r.deleted > 0) parts.push(`${r.deleted} deleted because their source records are gone`);
  }
  if (r.notFound > 0) parts.push(`${r.notFound} not found`);
  if (r.failed > 0) parts.push(`${r.failed} failed`);
  const failures = r.results.filter((x) => x.status === 'failed');
  const details = failures.slice(0, 10).map((x) => `${x.id}: ${x.reason ?? 'failed'}`);
  if (failures.length > 10) details.push(`…and ${failures.length - 10} more`);
  return { kind: r.failed > 0 ? 'notice' : 'success', text: `${parts.join(', ')}.`, details };
}
