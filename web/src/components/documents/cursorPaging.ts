// Cursor paging kept in the address: the current page's cursor is the `cursor` search param (so
// a reload shows the same page), and the cursors of the pages before it are a stack kept in the
// history entry's state (so "Previous page" and the browser's Back both work). Shared by the
// Documents and Users pages.
import { useCallback } from 'react';
import { useLocation, useSearchParams } from 'react-router';

interface PagingState {
  prevCursors?: string[];
}

export interface CursorPaging {
  cursor: string | null;
  /** 1-based number of the page shown; null when unknown (a pasted link to a later page). */
  pageNumber: number | null;
  hasPrevious: boolean;
  next(nextCursor: string): void;
  previous(): void;
  /** Replaces the filters (every other search param) and goes back to the first page. */
  setFilters(values: Record<string, string>, opts?: { replace?: boolean }): void;
}

export function useCursorPaging(): CursorPaging {
  const [searchParams, setSearchParams] = useSearchParams();
  const location = useLocation();
  const stack = ((location.state as PagingState | null)?.prevCursors ?? []).filter((c) => typeof c === 'string');
  const cursor = searchParams.get('cursor');

  const go = useCallback(
    (nextCursor: string | null, prevCursors: string[]) => {
      const sp = new URLSearchParams(searchParams);
      if (nextCursor) sp.set('cursor', nextCursor);
      else sp.delete('cursor');
      setSearchParams(sp, { state: { prevCursors } satisfies PagingState });
    },
    [searchParams, setSearchParams],
  );

  return {
    cursor,
    pageNumber: cursor ? (stack.length > 0 ? stack.length + 1 : null) : 1,
    hasPrevious: cursor !== null,
    next: (nextCursor) => go(nextCursor, [...stack, cursor ?? '']),
    // Without a stack (a pasted link), "previous" means the first page.
    previous: () => go(stack.length > 0 ? stack[stack.length - 1] || null : null, stack.slice(0, -1)),
    setFilters: (values, opts) => {
      const sp = new URLSearchParams();
      for (const [k, v] of Object.entries(values)) if (v) sp.set(k, v);
      setSearchParams(sp, { replace: opts?.replace ?? false, state: { prevCursors: [] } satisfies PagingState });
    },
  };
}
