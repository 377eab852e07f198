// The search box and filters of the Documents page. Text fields apply on "Search" (or Enter);
// the selects apply at once. A malformed query (400 invalid_query) or a bad filter is shown
// right here, in role="alert", with the server's message and where in the query it went wrong.
import { useEffect, useId, useState } from 'react';
import type { FormEvent } from 'react';
import { ApiError } from '../../api/client';
import { defaultSort } from './search';
import type { DocSearch, DocSort } from './search';

interface Props {
  applied: DocSearch;
  onApply: (s: DocSearch) => void;
  /** The list's error when it is about the request (400): shown by the form. */
  requestError: ApiError | null;
}

export function SearchForm({ applied, onApply, requestError }: Props) {
  const [draft, setDraft] = useState<DocSearch>(applied);
  const id = useId();
  const errorId = `${id}-error`;

  // Back/Forward or a link changes what is applied: show it.
  useEffect(() => setDraft(applied), [applied]);

  function submit(e: FormEvent) {
    e.preventDefault();
    onApply(draft);
  }
  function applyNow(patch: Partial<DocSearch>) {
    const next = { ...draft, ...patch };
    setDraft(next);
    onApply(next);
  }

  const field = typeof requestError?.details.field === 'string' ? requestError.details.field : null;
  const qInvalid = requestError?.code === 'invalid_query' || field === 'q';
  const sortValue: DocSort = draft.sort || defaultSort(applied.q);

  return (
    <form className="panel doc-search" role="search" aria-label="Documents" onSubmit={submit}>
      <div className="row">
        <label className="grow">
          Search documents
          <input
            type="search"
            name="q"
            value={draft.q}
            onChange={(e) => setDraft({ ...draft, q: e.target.value })}
            placeholder='words, "a phrase", -exclude, a OR b'
            aria-invalid={qInvalid || undefined}
            aria-describedby={qInvalid ? errorId : undefined}
            autoComplete="off"
          />
        </label>
        <button type="submit" className="primary">
          Search
        </button>
      </div>
      {requestError && <QueryError error={requestError} query={applied.q} id={errorId} />}
      <div className="row filters">
        <label>
          Type
          <select
            value={draft.type}
            onChange={(e) => applyNow({ type: e.target.value as DocSearch['type'] })}
          >
            <option value="">All types</option>
            <option value="journal_entries">Journal entries</option>
            <option value="goals">Goals</option>
          </select>
        </label>
        <label>
          User id
          <input
            value={draft.userId}
            onChange={(e) => setDraft({ ...draft, userId: e.target.value })}
            aria-invalid={field === 'userId' || undefined}
            autoComplete="off"
            spellCheck={false}
            size={14}
          />
        </label>
        <label>
          Dates of
          <select
            value={draft.dateField || 'synced'}
            onChange={(e) => setDraft({ ...draft, dateField: e.target.value as DocSearch['dateField'] })}
          >
            <option value="synced">Sync</option>
            <option value="source">Source record</option>
          </select>
        </label>
        <label>
          From
          <input
            type="date"
            value={draft.from}
            onChange={(e) => setDraft({ ...draft, from: e.target.value })}
            aria-invalid={field === 'from' || undefined}
          />
        </label>
        <label>
          To
          <input
            type="date"
            value={draft.to}
            onChange={(e) => setDraft({ ...draft, to: e.target.value })}
            aria-invalid={field === 'to' || undefined}
          />
        </label>
        <label>
          Sort
          <select value={sortValue} onChange={(e) => applyNow({ sort: e.target.value as DocSort })}>
            <option value="relevance" disabled={!applied.q.trim() && !draft.q.trim()}>
              Best match
            </option>
            <option value="newest">Newest first</option>
            <option value="oldest">Oldest first</option>
          </select>
        </label>
      </div>
    </form>
  );
}

/** The server's message, and the query with the place it points at marked. */
function QueryError({ error, query, id }: { error: ApiError; query: string; id: string }) {
  const raw = error.details.position;
  const pos = typeof raw === 'number' ? raw : typeof raw === 'string' && raw !== '' ? Number(raw) : NaN;
  const showAt = error.code === 'invalid_query' && Number.isInteger(pos) && pos >= 0 && query.length > 0;
  // The server counts bytes of UTF-8; a string index counts UTF-16 units.
  const at = Math.min(new TextDecoder().decode(new TextEncoder().encode(query).slice(0, pos)).length, query.length);
  return (
    <div className="error query-error" role="alert" id={id}>
      <span>{error.message}</span>
      {showAt && (
        <code className="query-at" aria-hidden="true">
          {query.slice(0, at)}
          <span className="query-at-mark">{query.slice(at, at + 1) || ' '}</span>
          {query.slice(at + 1)}
        </code>
      )}
    </div>
  );
}
