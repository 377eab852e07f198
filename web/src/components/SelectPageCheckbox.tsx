import { useEffect, useRef } from 'react';

/** The header checkbox of a selectable table: checked when every row of the page is, mixed when some are. */
export function SelectPageCheckbox({
  rows,
  selectedRows,
  onChange,
}: {
  rows: number;
  selectedRows: number;
  onChange: (on: boolean) => void;
}) {
  const ref = useRef<HTMLInputElement>(null);
  const all = rows > 0 && selectedRows === rows;
  useEffect(() => {
    if (ref.current) ref.current.indeterminate = selectedRows > 0 && !all;
  }, [selectedRows, all]);
  return (
    <input
      ref={ref}
      type="checkbox"
      aria-label="Select all on this page"
      checked={all}
      onChange={(e) => onChange(e.target.checked)}
    />
  );
}
