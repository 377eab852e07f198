import { Suspense } from 'react';
import { NavLink, Outlet } from 'react-router';
import { canReadAll, isAdmin, useAuth } from '../auth/session';
import { LiveIndicator } from '../live/LiveJobs';
import { PageFallback } from './States';

const roleLabel = { user: 'User', ml_admin: 'ML admin', admin: 'Admin' } as const;

export function Layout() {
  const { user, logout } = useAuth();
  const role = user?.role;
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">mladmin</span>
        <nav aria-label="Main">
          <NavLink to="/sync">Sync</NavLink>
          {canReadAll(role) && <NavLink to="/documents">Documents</NavLink>}
          {isAdmin(role) && <NavLink to="/users">Users</NavLink>}
          {canReadAll(role) && <NavLink to="/stats">Stats</NavLink>}
        </nav>
        <LiveIndicator />
        <div className="account">
          <span className="who" title={user?.email}>
            {user?.name || user?.email} <span className="role">{role ? roleLabel[role] : ''}</span>
          </span>
          <button type="button" onClick={() => logout()}>
            Log out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Suspense fallback={<PageFallback />}>
          <Outlet />
        </Suspense>
      </main>
      <footer className="footer">
        <a href="/api/docs">API documentation</a> · <a href="/api/openapi.json">OpenAPI</a>
      </footer>
    </div>
  );
}
