// Providers and routes. Pages are lazy-loaded, so that a `user` (who sees only Sync) and the
// login page don't download the charts or the admin pages.
import { lazy, Suspense } from 'react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { BrowserRouter, Navigate, Route, Routes, useLocation } from 'react-router';
import type { ReactNode } from 'react';
import { ApiError } from './api/client';
import { AuthProvider, canReadAll, isAdmin, useAuth } from './auth/session';
import { Layout } from './components/Layout';
import { PageFallback } from './components/States';
import { LoginPage } from './pages/LoginPage';
import { LiveJobsProvider } from './live/LiveJobs';

const SyncPage = lazy(() => import('./pages/SyncPage'));
const DocumentsPage = lazy(() => import('./pages/DocumentsPage'));
const UsersPage = lazy(() => import('./pages/UsersPage'));
const StatsPage = lazy(() => import('./pages/StatsPage'));

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 5_000,
      refetchOnWindowFocus: true,
      // A 4xx will not get better by asking again; network errors and 5xx retry twice.
      retry: (count, err) => !(err instanceof ApiError && err.status >= 400 && err.status < 500) && count < 2,
    },
  },
});

function RequireAuth({ children }: { children: ReactNode }) {
  const { user } = useAuth();
  const location = useLocation();
  if (!user) return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;
  return <>{children}</>;
}

function RequireRole({ allowed, children }: { allowed: boolean; children: ReactNode }) {
  return allowed ? <>{children}</> : <Navigate to="/sync" replace />;
}

function AppRoutes() {
  const { user } = useAuth();
  const role = user?.role;
  return (
    <Routes>
      <Route path="/login" element={<LoginPage />} />
      <Route
        element={
          <RequireAuth>
            <Layout />
          </RequireAuth>
        }
      >
        <Route path="/" element={<Navigate to="/sync" replace />} />
        <Route path="/sync" element={<SyncPage />} />
        <Route path="/sync/jobs/:jobId" element={<SyncPage />} />
        <Route
          path="/documents"
          element={
            <RequireRole allowed={canReadAll(role)}>
              <DocumentsPage />
            </RequireRole>
          }
        />
        <Route
          path="/stats"
          element={
            <RequireRole allowed={canReadAll(role)}>
              <StatsPage />
            </RequireRole>
          }
        />
        <Route
          path="/users"
          element={
            <RequireRole allowed={isAdmin(role)}>
              <UsersPage />
            </RequireRole>
          }
        />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}

function NotFound() {
  return (
    <section className="page">
      <h1>Page not found</h1>
      <p>There is nothing at this address.</p>
    </section>
  );
}

export function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <AuthProvider>
        <LiveJobsProvider>
        <BrowserRouter>
          <Suspense fallback={<PageFallback />}>
            <AppRoutes />
          </Suspense>
        </BrowserRouter>
        </LiveJobsProvider>
      </AuthProvider>
    </QueryClientProvider>
  );
}
