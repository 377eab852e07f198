// One row per user: a checkbox, email, name, a role select that changes the role at once, the
// status and a Disable / Enable button.
import { useEffect, useState } from 'react';
import type { Role, User } from '../../api/types';
import { formatDateTime } from '../../lib/format';
import { roleLabel } from './params';
import { SelectPageCheckbox } from '../SelectPageCheckbox';

interface Props {
  items: User[];
  selected: ReadonlyMap<string, string>;
  onToggle: (user: User, on: boolean) => void;
  onTogglePage: (on: boolean) => void;
  /** Rows with a change in flight, and the role they are being given. */
  busy: ReadonlyMap<string, { role?: Role }>;
  meId: string | undefined;
  onRole: (user: User, role: Role) => void;
  onStatus: (user: User, status: User['status']) => void;
}

export function UsersTable({ items, selected, onToggle, onTogglePage, busy, meId, onRole, onStatus }: Props) {
  const onPage = items.filter((u) => selected.has(u.id)).length;

  return (
    <div className="table-wrap">
      <table className="users-table">
        <thead>
          <tr>
            <th className="check">
              <SelectPageCheckbox rows={items.length} selectedRows={onPage} onChange={onTogglePage} />
            </th>
            <th>Email</th>
            <th className="hide-narrow">Name</th>
            <th>Role</th>
            <th className="hide-narrow">Status</th>
            <th className="hide-narrow">Created</th>
            <th className="hide-narrow">Last login</th>
            <th>
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {items.map((u) => {
            const pending = busy.get(u.id);
            const isMe = u.id === meId;
            return (
              <tr key={u.id} className={selected.has(u.id) ? 'selected' : undefined}>
                <td className="check">
                  <input
                    type="checkbox"
                    aria-label={`Select ${u.email}`}
                    checked={selected.has(u.id)}
                    onChange={(e) => onToggle(u, e.target.checked)}
                  />
                </td>
                <td className="user-email">
                  <span className="email">{u.email}</span>
                  {isMe && <span className="badge badge-me">you</span>}
                  <span className="show-narrow muted user-name-narrow">
                    {u.name} <StatusBadge status={u.status} />
                  </span>
                </td>
                <td className="hide-narrow">{u.name}</td>
                <td>
                  <RoleCell user={u} pendingRole={pending?.role} busy={pending !== undefined} onRole={onRole} />
                </td>
                <td className="hide-narrow">
                  <StatusBadge status={u.status} />
                </td>
                <td className="hide-narrow nowrap">{formatDateTime(u.createdAt)}</td>
                <td className="hide-narrow nowrap">{u.lastLoginAt ? formatDateTime(u.lastLoginAt) : 'Never'}</td>
                <td className="nowrap">
                  {u.status === 'active' ? (
                    <button
                      type="button"
                      className="small"
                      aria-label={`Disable ${u.email}`}
                      disabled={pending !== undefined}
                      onClick={() => onStatus(u, 'disabled')}
                    >
                      Disable
                    </button>
                  ) : (
                    <button
                      type="button"
                      className="small"
                      aria-label={`Enable ${u.email}`}
                      disabled={pending !== undefined}
                      onClick={() => onStatus(u, 'active')}
                    >
                      Enable
                    </button>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function StatusBadge({ status }: { status: User['status'] }) {
  return <span className={`badge badge-user-${status}`}>{status === 'active' ? 'Active' : 'Disabled'}</span>;
}

/**
 * The role select and its Save button. Choosing is not changing: in Chromium and Firefox the arrow
 * keys on a closed select fire `change`, and each role change revokes the user's sessions, so the
 * change is sent only by Save (or Enter in the select).
 */
function RoleCell({
  user,
  pendingRole,
  busy,
  onRole,
}: {
  user: User;
  pendingRole: Role | undefined;
  busy: boolean;
  onRole: (user: User, role: Role) => void;
}) {
  const [draft, setDraft] = useState<Role>(user.role);
  useEffect(() => setDraft(user.role), [user.role]);
  const shown = pendingRole ?? draft;
  const dirty = pendingRole === undefined && draft !== user.role;
  return (
    <span className="role-cell">
      <select
        aria-label={`Role for ${user.email}`}
        value={shown}
        disabled={busy}
        onChange={(e) => setDraft(e.target.value as Role)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && dirty) onRole(user, draft);
        }}
      >
        {(Object.keys(roleLabel) as Role[]).map((r) => (
          <option key={r} value={r}>
            {roleLabel[r]}
          </option>
        ))}
      </select>
      {dirty && (
        <>
          <button type="button" className="small primary" onClick={() => onRole(user, draft)}>
            Save<span className="sr-only"> role for {user.email}</span>
          </button>
          <button type="button" className="small" onClick={() => setDraft(user.role)}>
            Undo<span className="sr-only"> role change for {user.email}</span>
          </button>
        </>
      )}
    </span>
  );
}
