// The Documents page's search and filters as they live in the address (so that reload, Back and
// a shared link keep them), and their translation into the API's list and bulk parameters.
import type { QueryParams } from '../../api/client';
import type { DocumentFilter, DocumentType } from '../../api/types';
import { isoFromLocalDate } from '../../lib/format';

export type DocSort = 'relevance' | 'newest' | 'oldest';
export type DateField = 'synced' | 'source';

export interface DocSearch {
  q: string;
  type: DocumentType | '';
  userId: string;
  /** YYYY-MM-DD, inclusive (local days). */
  from: string;
  /** YYYY-MM-DD, inclusive: the API's `to` is exclusive, so the day after is sent. */
  to: string;
  dateField: DateField | '';
  sort: DocSort | '';
}

export const emptySearch: DocSearch = { q: '', type: '', userId: '', from: '', to: '', dateField: '', sort: '' };

function oneOf<T extends string>(value: string | null, allowed: readonly T[]): T | '' {
  return value !== null && (allowed as readonly string[]).includes(value) ? (value as T) : '';
}

export function readSearch(sp: URLSearchParams): DocSearch {
  return {
    q: sp.get('q') ?? '',
    type: oneOf(sp.get('type'), ['journal_entries', 'goals'] as const),
    userId: sp.get('userId') ?? '',
    from: sp.get('from') ?? '',
    to: sp.get('to') ?? '',
    dateField: oneOf(sp.get('dateField'), ['synced', 'source'] as const),
    sort: oneOf(sp.get('sort'), ['relevance', 'newest', 'oldest'] as const),
  };
}

/** What the server sorts by when `sort` is left out. */
export function defaultSort(q: string): DocSort {
  return q.trim() ? 'relevance' : 'newest';
}

/** The search as search params: trimmed, defaults left out. */
export function searchToParams(s: DocSearch): Record<string, string> {
  const q = s.q.trim();
  // Relevance needs a search text; without one the server would refuse it.
  const sort = s.sort === '' || s.sort === defaultSort(q) || (s.sort === 'relevance' && !q) ? '' : s.sort;
  return {
    q,
    type: s.type,
    userId: s.userId.trim(),
    from: s.from,
    to: s.to,
    dateField: s.from || s.to ? s.dateField : '',
    sort,
  };
}

/** The filter part (no sort, no paging) in the API's names. */
export function apiFilter(s: DocSearch): DocumentFilter {
  const p = searchToParams(s);
  const f: DocumentFilter = {};
  if (p.q) f.q = p.q;
  if (s.type) f.type = s.type;
  if (p.userId) f.userId = p.userId;
  // Days are the reader's local days, as on the Sync page: from the first millisecond of `from`
  // to the start of the day after `to` (the server's `to` is exclusive).
  if (p.from) f.from = isoFromLocalDate(p.from, 'start') ?? p.from;
  if (p.to) f.to = isoFromLocalDate(p.to, 'end') ?? p.to;
  if (p.dateField === 'synced' || p.dateField === 'source') f.dateField = p.dateField;
  return f;
}

export function isEmptyFilter(f: DocumentFilter): boolean {
  return !f.q && !f.type && !f.userId && !f.from && !f.to;
}

export function listParams(s: DocSearch, cursor: string | null, limit: number): QueryParams {
  const sort = searchToParams(s).sort;
  return { ...apiFilter(s), sort: sort || undefined, limit, cursor: cursor ?? undefined };
}
