// The bulk bar of the Users page: choose an action, apply it to the selected users.
import { useState } from 'react';
import type { Role, UserBulkRequest } from '../../api/types';
import { roleLabel } from './params';

/** The bulk request without its ids (`role` only with `set_role`). */
export type UserBulkAction = Omit<UserBulkRequest, 'ids'>;

const choices: { value: string; label: string; action: UserBulkAction }[] = [
  ...(Object.keys(roleLabel) as Role[]).map((r) => ({
    value: `set_role:${r}`,
    label: `Set role: ${roleLabel[r]}`,
    action: { action: 'set_role', role: r } as UserBulkAction,
  })),
  { value: 'disable', label: 'Disable', action: { action: 'disable' } },
  { value: 'enable', label: 'Enable', action: { action: 'enable' } },
  { value: 'delete', label: 'Delete', action: { action: 'delete' } },
];

interface Props {
  count: number;
  busy: boolean;
  onApply: (a: UserBulkAction) => void;
  onClear: () => void;
}

export function BulkBar({ count, busy, onApply, onClear }: Props) {
  const [value, setValue] = useState('');
  const chosen = choices.find((c) => c.value === value);
  return (
    <div className="row bulk-bar" role="group" aria-label="Selection">
      <span className="selection-count">{count > 0 ? `${count} selected` : 'None selected'}</span>
      {count > 0 && (
        <button type="button" className="small" onClick={onClear}>
          Clear selection
        </button>
      )}
      <span className="spacer" />
      <label className="inline">
        Bulk action
        <select value={value} onChange={(e) => setValue(e.target.value)}>
          <option value="">Choose…</option>
          {choices.map((c) => (
            <option key={c.value} value={c.value}>
              {c.label}
            </option>
          ))}
        </select>
      </label>
      <button
        type="button"
        className={chosen?.action.action === 'delete' ? 'danger' : undefined}
        disabled={count === 0 || !chosen || busy}
        onClick={() => chosen && onApply(chosen.action)}
      >
        {busy ? 'Applying…' : 'Apply to selected'}
      </button>
    </div>
  );
}
