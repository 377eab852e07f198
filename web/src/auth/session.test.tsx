import { act, render } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AuthProvider, useAuth } from './session';
import type { AuthValue } from './session';

const user = {
  id: 'u1',
  email: 'admin@example.com',
  name: 'Ada',
  role: 'admin' as const,
  status: 'active' as const,
  createdAt: null,
  updatedAt: null,
  lastLoginAt: null,
};

function setup() {
  const future = new Date(Date.now() + 3_600_000).toISOString();
  localStorage.setItem('mladmin.session', JSON.stringify({ token: 't1', expiresAt: future, user }));
  vi.stubGlobal(
    'fetch',
    vi.fn(async () => new Response(JSON.stringify(user), { status: 200, headers: { 'Content-Type': 'application/json' } })),
  );
  const queryClient = new QueryClient();
  let auth: AuthValue | null = null;
  function Probe() {
    auth = useAuth();
    return null;
  }
  render(
    <QueryClientProvider client={queryClient}>
      <AuthProvider>
        <Probe />
      </AuthProvider>
    </QueryClientProvider>,
  );
  return { queryClient, auth: () => auth! };
}

afterEach(() => {
  localStorage.clear();
  vi.unstubAllGlobals();
});

describe('AuthProvider', () => {
  it('keeps the session across a reload (from localStorage)', () => {
    const { auth } = setup();
    expect(auth().user?.email).toBe('admin@example.com');
    expect(auth().token).toBe('t1');
  });

  it('forgets every cached list on logout, so the next account never sees them', () => {
    const { queryClient, auth } = setup();
    queryClient.setQueryData(['jobs', {}, null], { items: [{ id: 'admin-only-job' }], nextCursor: null });
    expect(queryClient.getQueryCache().getAll()).toHaveLength(1);
    act(() => auth().logout());
    expect(queryClient.getQueryCache().getAll()).toHaveLength(0);
    expect(auth().user).toBeNull();
    expect(localStorage.getItem('mladmin.session')).toBeNull();
  });
});
