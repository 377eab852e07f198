// The signed-in session: kept in localStorage so that it survives a reload, dropped on logout,
// on expiry and on any 401 from the server.
import { createContext, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import type { ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { api, configureApi } from '../api/client';
import type { LoginRequest, Role, Session, User } from '../api/types';

const STORAGE_KEY = 'mladmin.session';

function loadSession(): Session | null {
  try {
    const raw = localStorage.getItem(STORAGE_KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as Session;
    if (!s.token || !s.user || Date.parse(s.expiresAt) <= Date.now()) return null;
    return s;
  } catch {
    return null;
  }
}

export interface AuthValue {
  session: Session | null;
  user: User | null;
  token: string | null;
  login(email: string, password: string): Promise<void>;
  logout(reason?: string): void;
  /** Why the last session ended without a logout click (expired, revoked), shown on the login page. */
  endedReason: string | null;
}

const AuthContext = createContext<AuthValue | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(() => {
    const s = loadSession();
    configureApi(s?.token ?? null, null);
    return s;
  });
  const [endedReason, setEndedReason] = useState<string | null>(null);
  const queryClient = useQueryClient();

  const logout = useCallback((reason?: string) => {
    localStorage.removeItem(STORAGE_KEY);
    // Lists are cached by query, not by account: drop them, so that the next account signed in
    // in this tab never sees the last one's jobs, documents or users.
    void queryClient.cancelQueries();
    queryClient.clear();
    configureApi(null, null);
    setEndedReason(reason ?? null);
    setSession(null);
  }, [queryClient]);

  useEffect(() => {
    configureApi(session?.token ?? null, () => logout('Your session has ended. Please sign in again.'));
  }, [session, logout]);

  // Refresh the user (role, name) once per load; a revoked or disabled account ends the session.
  useEffect(() => {
    if (!session) return;
    const ctrl = new AbortController();
    api<User>('/api/auth/me', { signal: ctrl.signal })
      .then((user) => {
        setSession((s) => {
          if (!s) return s;
          const next = { ...s, user };
          localStorage.setItem(STORAGE_KEY, JSON.stringify(next));
          return next;
        });
      })
      .catch(() => {});
    return () => ctrl.abort();
    // Only when the token changes.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [session?.token]);

  // Sign out when the token expires while the page is open.
  useEffect(() => {
    if (!session) return;
    const ms = Date.parse(session.expiresAt) - Date.now();
    const t = setTimeout(() => logout('Your session has expired. Please sign in again.'), Math.max(0, Math.min(ms, 2 ** 31 - 1)));
    return () => clearTimeout(t);
  }, [session, logout]);

  const login = useCallback(async (email: string, password: string) => {
    const body: LoginRequest = { email, password };
    const s = await api<Session>('/api/auth/login', {
      method: 'POST',
      body,
      noAuthRedirect: true,
    });
    localStorage.setItem(STORAGE_KEY, JSON.stringify(s));
    configureApi(s.token, null);
    queryClient.clear();
    setEndedReason(null);
    setSession(s);
  }, [queryClient]);

  const value = useMemo<AuthValue>(
    () => ({ session, user: session?.user ?? null, token: session?.token ?? null, login, logout, endedReason }),
    [session, login, logout, endedReason],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthValue {
  const v = useContext(AuthContext);
  if (!v) throw new Error('useAuth outside AuthProvider');
  return v;
}

/** ml_admin and admin read every job and document; admin also manages users. */
export function canReadAll(role: Role | undefined): boolean {
  return role === 'ml_admin' || role === 'admin';
}

export function isAdmin(role: Role | undefined): boolean {
  return role === 'admin';
}
