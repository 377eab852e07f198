// Search and filters of the Users page. The search text applies as you type (after a pause) or
// on Enter; the selects and dates apply at once.
import { useEffect, useRef, useState } from 'react';
import type { FormEvent } from 'react';
import { roleLabel, sortOptions } from './params';
import type { UserSearch, UserSort } from './params';

export function UserFilters({
  applied,
  onApply,
}: {
  applied: UserSearch;
  /** `typing`: applied after a pause in typing, so the address is replaced rather than pushed. */
  onApply: (s: UserSearch, opts?: { typing?: boolean }) => void;
}) {
  const [q, setQ] = useState(applied.q);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  // The filters as applied now: a pending search reads them when it fires, not as they were typed.
  const appliedRef = useRef(applied);
  appliedRef.current = applied;
  // Follow the address (back/forward), but keep what is typed when it only differs by spaces.
  useEffect(() => setQ((cur) => (cur.trim() === applied.q.trim() ? cur : applied.q)), [applied.q]);
  useEffect(() => () => clearTimeout(timer.current), []);

  function typed(value: string) {
    setQ(value);
    clearTimeout(timer.current);
    timer.current = setTimeout(() => {
      const now = appliedRef.current;
      if (value.trim() !== now.q.trim()) onApply({ ...now, q: value }, { typing: true });
    }, 350);
  }
  function submit(e: FormEvent) {
    e.preventDefault();
    clearTimeout(timer.current);
    onApply({ ...applied, q });
  }
  const set = (patch: Partial<UserSearch>) => {
    clearTimeout(timer.current);
    onApply({ ...applied, q, ...patch });
  };

  return (
    <form className="panel row user-filters" role="search" aria-label="Users" onSubmit={submit}>
      <label className="grow">
        Search users
        <input type="search" value={q} onChange={(e) => typed(e.target.value)} placeholder="email or name" autoComplete="off" />
      </label>
      <label>
        Role
        <select value={applied.role} onChange={(e) => set({ role: e.target.value as UserSearch['role'] })}>
          <option value="">All roles</option>
          {(Object.keys(roleLabel) as (keyof typeof roleLabel)[]).map((r) => (
            <option key={r} value={r}>
              {roleLabel[r]}
            </option>
          ))}
        </select>
      </label>
      <label>
        Status
        <select value={applied.status} onChange={(e) => set({ status: e.target.value as UserSearch['status'] })}>
          <option value="">Any status</option>
          <option value="active">Active</option>
          <option value="disabled">Disabled</option>
        </select>
      </label>
      <label>
        Created from
        <input type="date" value={applied.createdFrom} onChange={(e) => set({ createdFrom: e.target.value })} />
      </label>
      <label>
        Created to
        <input type="date" value={applied.createdTo} onChange={(e) => set({ createdTo: e.target.value })} />
      </label>
      <label>
        Sort
        <select value={applied.sort} onChange={(e) => set({ sort: e.target.value as UserSort })}>
          {sortOptions.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
      </label>
      <button type="submit">
        Search
      </button>
    </form>
  );
}
