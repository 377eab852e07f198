import type { ReactNode } from 'react';
import type { CursorPaging } from './documents/cursorPaging';

interface Props {
  hasPrevious: boolean;
  onPrevious: () => void;
  hasNext: boolean;
  onNext: () => void;
  /** Shown between the buttons ("Page 2"), when known. */
  pageNumber?: number | null;
  /** Anything else to show before the buttons (a "Refreshing…" note). */
  children?: ReactNode;
}

/** "Previous page" / "Next page" under a cursor-paged list. */
export function Pager({ hasPrevious, onPrevious, hasNext, onNext, pageNumber, children }: Props) {
  return (
    <nav className="pager" aria-label="Pages">
      {children}
      <button type="button" disabled={!hasPrevious} onClick={onPrevious}>
        Previous page
      </button>
      {pageNumber != null && <span className="muted">Page {pageNumber}</span>}
      <button type="button" disabled={!hasNext} onClick={onNext}>
        Next page
      </button>
    </nav>
  );
}

/** The pager of a list paged in the address (Documents, Users): hidden when all fits on one page. */
export function AddressPager({
  paging,
  nextCursor,
  stale,
}: {
  paging: CursorPaging;
  nextCursor: string | null | undefined;
  /** The list shows the previous answer while the next one loads: don't page on from it. */
  stale: boolean;
}) {
  if (!paging.hasPrevious && !nextCursor) return null;
  return (
    <Pager
      hasPrevious={paging.hasPrevious}
      onPrevious={paging.previous}
      hasNext={!!nextCursor && !stale}
      onNext={() => nextCursor && paging.next(nextCursor)}
      pageNumber={paging.pageNumber}
    />
  );
}
