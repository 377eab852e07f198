// Users (admin only): search and filters kept in the address, cursor paging, role change and
// disable/enable per row, bulk actions on the selected users, and "Create user". Every action
// reports in role="status" (or role="alert" with the server's message when it was refused).
import { useMemo, useState } from 'react';
import type { ReactNode } from 'react';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useSearchParams } from 'react-router';
import { api, errorMessage } from '../api/client';
import type { Role, User, UserBulkRequest, UserBulkResult, UserChange, UserPage } from '../api/types';
import { useAuth } from '../auth/session';
import { Dialog } from '../components/Dialog';
import { useCursorPaging } from '../components/documents/cursorPaging';
import { plural } from '../lib/format';
import { Empty, ErrorState, Loading } from '../components/States';
import { BulkBar } from '../components/users/BulkBar';
import type { UserBulkAction } from '../components/users/BulkBar';
import { CreateUserDialog } from '../components/users/CreateUserDialog';
import { readUserSearch, roleLabel, userListParams, userSearchToParams } from '../components/users/params';
import type { UserSearch } from '../components/users/params';
import { UserFilters } from '../components/users/UserFilters';
import { UsersTable } from '../components/users/UsersTable';
import { AddressPager } from '../components/Pager';

const PAGE_SIZE = 50;

/** One change of a row (a PATCH of the user): its role or its status. */
type Change = Required<Pick<UserChange, 'role'>> | Required<Pick<UserChange, 'status'>>;

interface Feedback {
  kind: 'success' | 'notice' | 'error';
  text: string;
  details?: string[];
}

/** A change that asks first: deleting users, or taking one's own admin rights away. */
type Confirm =
  | { kind: 'self'; user: User; change: Change }
  | { kind: 'bulk-delete'; ids: string[]; emails: string[] };

const pastTense: Record<UserBulkRequest['action'], string> = { disable: 'disabled', enable: 'enabled', delete: 'deleted', set_role: 'changed' };

export default function UsersPage() {
  const { user: me } = useAuth();
  const [searchParams] = useSearchParams();
  const paging = useCursorPaging();
  const queryClient = useQueryClient();
  const paramsKey = searchParams.toString();
  const search = useMemo(() => readUserSearch(new URLSearchParams(paramsKey)), [paramsKey]);

  const [selected, setSelected] = useState<ReadonlyMap<string, string>>(new Map());
  const [busy, setBusy] = useState<ReadonlyMap<string, { role?: Role }>>(new Map());
  const [feedback, setFeedback] = useState<Feedback | null>(null);
  const [creating, setCreating] = useState(false);
  const [confirm, setConfirm] = useState<Confirm | null>(null);

  const params = userListParams(search, paging.cursor, PAGE_SIZE);
  const list = useQuery({
    queryKey: ['users', params],
    queryFn: ({ signal }) => api<UserPage>('/api/ml/admin/users', { params, signal }),
    placeholderData: keepPreviousData,
  });
  const items = list.data?.items ?? [];
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['users'] });

  function apply(next: UserSearch, opts?: { typing?: boolean }) {
    setSelected(new Map());
    // Each pause while typing would otherwise be one more step for the Back button.
    paging.setFilters(userSearchToParams(next), { replace: opts?.typing === true });
  }

  function setRowBusy(id: string, value: { role?: Role } | null) {
    setBusy((b) => {
      const n = new Map(b);
      if (value) n.set(id, value);
      else n.delete(id);
      return n;
    });
  }

  const change = useMutation({
    mutationFn: ({ user, change }: { user: User; change: Change }) =>
      api<User>(`/api/ml/admin/users/${encodeURIComponent(user.id)}`, { method: 'PATCH', body: change }),
    onMutate: ({ user, change }) => setRowBusy(user.id, 'role' in change ? { role: change.role } : {}),
    onSuccess: (updated, { user, change }) => {
      setFeedback({
        kind: 'success',
        text:
          'role' in change
            ? `${user.email} is now ${roleLabel[updated.role]}.`
            : `${user.email} is ${updated.status === 'active' ? 'enabled' : 'disabled'}.`,
      });
    },
    onError: (err, { user, change }) => {
      const what = 'role' in change ? 'change the role of' : change.status === 'active' ? 'enable' : 'disable';
      setFeedback({ kind: 'error', text: `Could not ${what} ${user.email}: ${errorMessage(err)}` });
    },
    onSettled: async (_d, _e, { user }) => {
      // Until the list is refetched the row would show the old role: keep it busy meanwhile.
      await refresh();
      setRowBusy(user.id, null);
    },
  });

  function requestChange(user: User, c: Change) {
    setFeedback(null);
    // Taking away one's own admin rights ends this session: ask first.
    const selfLoss = user.id === me?.id && (('role' in c && c.role !== 'admin') || ('status' in c && c.status === 'disabled'));
    if (selfLoss) setConfirm({ kind: 'self', user, change: c });
    else change.mutate({ user, change: c });
  }

  const bulk = useMutation({
    mutationFn: (body: UserBulkRequest) => api<UserBulkResult>('/api/ml/admin/users/bulk', { method: 'POST', body }),
    onSuccess: (answer, a) => {
      setConfirm(null);
      const emails = new Map(selected);
      const verb =
        a.action === 'set_role' && a.role ? `set to ${roleLabel[a.role]}` : pastTense[a.action];
      const failures = answer.results.filter((r) => !r.ok);
      setFeedback({
        kind: answer.failed > 0 ? 'notice' : 'success',
        text: `${plural(answer.succeeded, 'user')} ${verb}${answer.failed > 0 ? `, ${answer.failed} failed` : ''}.`,
        details: failures.map((r) => `${emails.get(r.id) ?? r.id}: ${r.error?.message ?? 'failed'}`),
      });
      // Keep the ones that failed selected, so that they can be looked at or retried.
      setSelected((s) => new Map([...s].filter(([id]) => failures.some((f) => f.id === id))));
    },
    onError: (err) => {
      setConfirm(null);
      setFeedback({ kind: 'error', text: `The bulk action was refused: ${errorMessage(err)}` });
    },
    onSettled: () => void refresh(),
  });

  function applyBulk(a: UserBulkAction) {
    setFeedback(null);
    const ids = [...selected.keys()];
    if (a.action === 'delete') setConfirm({ kind: 'bulk-delete', ids, emails: [...selected.values()] });
    else bulk.mutate({ ...a, ids });
  }

  function toggle(u: User, on: boolean) {
    setSelected((s) => {
      const n = new Map(s);
      if (on) n.set(u.id, u.email);
      else n.delete(u.id);
      return n;
    });
  }
  function togglePage(on: boolean) {
    setSelected((s) => {
      const n = new Map(s);
      for (const u of items) {
        if (on) n.set(u.id, u.email);
        else n.delete(u.id);
      }
      return n;
    });
  }

  let body: ReactNode;
  if (list.isPending) body = <Loading />;
  else if (list.isError) body = <ErrorState error={list.error} onRetry={() => void list.refetch()} />;
  else if (items.length === 0) body = <Empty>No users match.</Empty>;
  else
    body = (
      <UsersTable
        items={items}
        selected={selected}
        onToggle={toggle}
        onTogglePage={togglePage}
        busy={busy}
        meId={me?.id}
        onRole={(u, role) => requestChange(u, { role })}
        onStatus={(u, status) => requestChange(u, { status })}
      />
    );

  return (
    <section className="page users-page" aria-labelledby="users-title">
      <div className="page-head">
        <h1 id="users-title">Users</h1>
        <button type="button" className="primary" onClick={() => setCreating(true)}>
          Create user
        </button>
      </div>

      <UserFilters applied={search} onApply={apply} />

      <div role="status" className="feedback">
        {feedback && feedback.kind !== 'error' && <FeedbackBox feedback={feedback} />}
      </div>
      {feedback?.kind === 'error' && (
        <div role="alert">
          <FeedbackBox feedback={feedback} />
        </div>
      )}

      <div className="panel">
        <BulkBar count={selected.size} busy={bulk.isPending} onApply={applyBulk} onClear={() => setSelected(new Map())} />
        {body}
        <AddressPager paging={paging} nextCursor={list.data?.nextCursor} stale={list.isPlaceholderData} />
      </div>

      {creating && (
        <CreateUserDialog
          onClose={() => setCreating(false)}
          onCreated={(u) => {
            setCreating(false);
            setFeedback({ kind: 'success', text: `Created ${u.email} (${roleLabel[u.role]}).` });
            void refresh();
          }}
        />
      )}

      {confirm?.kind === 'bulk-delete' && (
        <Dialog
          title="Confirm delete users"
          onClose={() => setConfirm(null)}
          busy={bulk.isPending}
          actions={
            <>
              <button type="button" onClick={() => setConfirm(null)} disabled={bulk.isPending}>
                Cancel
              </button>
              <button
                type="button"
                className="danger primary"
                disabled={bulk.isPending}
                onClick={() => bulk.mutate({ action: 'delete', ids: confirm.ids })}
              >
                {bulk.isPending ? 'Deleting…' : `Delete ${plural(confirm.ids.length, 'user')}`}
              </button>
            </>
          }
        >
          <p>
            <strong>{plural(confirm.ids.length, 'user')} will be deleted.</strong> This cannot be undone.
          </p>
          <ul className="compact-list">
            {confirm.emails.slice(0, 10).map((e) => (
              <li key={e}>{e}</li>
            ))}
            {confirm.emails.length > 10 && <li>…and {confirm.emails.length - 10} more</li>}
          </ul>
        </Dialog>
      )}

      {confirm?.kind === 'self' && (
        <Dialog
          title="Change your own account?"
          onClose={() => setConfirm(null)}
          actions={
            <>
              <button type="button" onClick={() => setConfirm(null)}>
                Cancel
              </button>
              <button
                type="button"
                className="danger primary"
                onClick={() => {
                  const c = confirm;
                  setConfirm(null);
                  change.mutate({ user: c.user, change: c.change });
                }}
              >
                {'role' in confirm.change ? `Make me ${roleLabel[confirm.change.role]}` : 'Disable my account'}
              </button>
            </>
          }
        >
          <p>
            You will lose the admin rights this page needs, and your session ends at once: you will have to sign in
            again. The server refuses it if you are the last active admin.
          </p>
        </Dialog>
      )}
    </section>
  );
}

function FeedbackBox({ feedback }: { feedback: Feedback }) {
  return (
    <div className={feedback.kind}>
      <p>{feedback.text}</p>
      {feedback.details && feedback.details.length > 0 && (
        <ul>
          {feedback.details.slice(0, 20).map((d, i) => (
            <li key={i}>{d}</li>
          ))}
          {feedback.details.length > 20 && <li>…and {feedback.details.length - 20} more</li>}
        </ul>
      )}
    </div>
  );
}
