import type { ReactNode } from 'react';

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
