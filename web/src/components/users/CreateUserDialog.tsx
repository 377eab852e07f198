// "Create user": the server validates (email format and uniqueness, name, password strength)
// and names the field in its answer; the message is shown next to that field and at the top.
import { useState } from 'react';
import type { FormEvent } from 'react';
import { useMutation } from '@tanstack/react-query';
import { api, ApiError, errorMessage } from '../../api/client';
import type { Role, User, UserCreate } from '../../api/types';
import { Dialog } from '../Dialog';
import { roleLabel } from './params';

type Field = 'email' | 'name' | 'password' | 'role';
const fields: Field[] = ['email', 'name', 'password', 'role'];

/** The field an error is about: details.field, else the name quoted in "field 'x': …". */
function fieldOf(err: unknown): Field | null {
  if (!(err instanceof ApiError)) return null;
  const named = typeof err.details.field === 'string' ? err.details.field : /field '(\w+)'/.exec(err.message)?.[1];
  if (named && (fields as string[]).includes(named)) return named as Field;
  if (err.code === 'email_taken') return 'email';
  return null;
}

export function CreateUserDialog({ onClose, onCreated }: { onClose: () => void; onCreated: (u: User) => void }) {
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>('user');
  const create = useMutation({
    mutationFn: () => {
      const body: UserCreate = { email: email.trim(), name, password, role };
      return api<User>('/api/ml/admin/users', { method: 'POST', body });
    },
    onSuccess: onCreated,
  });
  const bad = create.isError ? fieldOf(create.error) : null;
  const msgId = 'create-user-error';

  function submit(e: FormEvent) {
    e.preventDefault();
    create.mutate();
  }
  const invalid = (f: Field) => (bad === f ? { 'aria-invalid': true, 'aria-describedby': msgId } : {});

  return (
    <Dialog
      title="Create user"
      onClose={onClose}
      busy={create.isPending}
      actions={
        <>
          <button type="button" onClick={onClose} disabled={create.isPending}>
            Cancel
          </button>
          <button type="submit" form="create-user-form" className="primary" disabled={create.isPending}>
            {create.isPending ? 'Creating…' : 'Create'}
          </button>
        </>
      }
    >
      {/* The server validates: no browser checks that would hide its messages. */}
      <form id="create-user-form" className="form-grid" onSubmit={submit} noValidate>
        {create.isError && (
          <p className="error" role="alert" id={msgId}>
            {errorMessage(create.error)}
          </p>
        )}
        <label>
          Email
          <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="off" required {...invalid('email')} />
        </label>
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" required {...invalid('name')} />
        </label>
        <label>
          Password
          <input
            type="password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            autoComplete="new-password"
            required
            aria-describedby={bad === 'password' ? `${msgId} password-hint` : 'password-hint'}
            aria-invalid={bad === 'password' || undefined}
          />
        </label>
        <p className="hint" id="password-hint">
          At least 8 characters; common passwords are refused.
        </p>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.target.value as Role)} {...invalid('role')}>
            {(Object.keys(roleLabel) as Role[]).map((r) => (
              <option key={r} value={r}>
                {roleLabel[r]}
              </option>
            ))}
          </select>
        </label>
      </form>
    </Dialog>
  );
}
