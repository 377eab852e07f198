// The Users page's filters as they live in the address, and as the API's list parameters.
import type { QueryParams } from '../../api/client';
import type { Role, UserStatus } from '../../api/types';
import { isoFromLocalDate } from '../../lib/format';

export type UserSort = '-createdAt' | 'createdAt' | 'email' | 'name' | '-lastLoginAt';

export interface UserSearch {
  q: string;
  role: Role | '';
  status: UserStatus | '';
  /** YYYY-MM-DD, inclusive (local days). */
  createdFrom: string;
  createdTo: string;
  sort: UserSort;
}

export const sortOptions: { value: UserSort; label: string }[] = [
  { value: '-createdAt', label: 'Newest first' },
  { value: 'createdAt', label: 'Oldest first' },
  { value: 'email', label: 'Email A–Z' },
  { value: 'name', label: 'Name A–Z' },
  { value: '-lastLoginAt', label: 'Recent login first' },
];

export const roleLabel: Record<Role, string> = { user: 'User', ml_admin: 'ML admin', admin: 'Admin' };

function pick<T extends string>(v: string | null, allowed: readonly T[], fallback: T | ''): T | '' {
  return v !== null && (allowed as readonly string[]).includes(v) ? (v as T) : fallback;
}

export function readUserSearch(sp: URLSearchParams): UserSearch {
  return {
    q: sp.get('q') ?? '',
    role: pick(sp.get('role'), ['user', 'ml_admin', 'admin'] as const, ''),
    status: pick(sp.get('status'), ['active', 'disabled'] as const, ''),
    createdFrom: sp.get('createdFrom') ?? '',
    createdTo: sp.get('createdTo') ?? '',
    sort: (pick(sp.get('sort'), sortOptions.map((o) => o.value), '') || '-createdAt') as UserSort,
  };
}

/** As search params: trimmed, the default sort left out. */
export function userSearchToParams(s: UserSearch): Record<string, string> {
  return {
    q: s.q.trim(),
    role: s.role,
    status: s.status,
    createdFrom: s.createdFrom,
    createdTo: s.createdTo,
    sort: s.sort === '-createdAt' ? '' : s.sort,
  };
}

export function userListParams(s: UserSearch, cursor: string | null, limit: number): QueryParams {
  const p = userSearchToParams(s);
  return {
    q: p.q,
    role: p.role,
    status: p.status,
    createdFrom: p.createdFrom ? (isoFromLocalDate(p.createdFrom, 'start') ?? p.createdFrom) : '',
    // The API's createdTo is exclusive; the field means "up to and including that day".
    createdTo: p.createdTo ? (isoFromLocalDate(p.createdTo, 'end') ?? p.createdTo) : '',
    sort: p.sort,
    limit,
    cursor: cursor ?? undefined,
  };
}
