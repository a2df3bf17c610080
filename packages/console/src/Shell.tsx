import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { NavLink, Navigate, Outlet, useLocation, useNavigate, useParams } from "react-router-dom";
import { api, errorText, rememberCsrf } from "./api";
import { Loading } from "./components/ui";
import { OrgProvider, useMe } from "./session";

const SECTIONS: { path: string; label: string; permission: string }[] = [
  { path: "dashboard", label: "Dashboard", permission: "vulnerabilities.read" },
  { path: "devices", label: "Devices", permission: "devices.read" },
  { path: "enrolment", label: "Enrolment", permission: "enrollment_tokens.read" },
  { path: "vulnerabilities", label: "Vulnerabilities", permission: "vulnerabilities.read" },
  { path: "rollouts", label: "Rollouts", permission: "patching.read" },
  { path: "policies", label: "Policies", permission: "patching.read" },
  { path: "audit", label: "Audit log", permission: "audit.read" },
  { path: "team", label: "Team", permission: "users.read" },
  { path: "settings", label: "Organisation", permission: "organization.read" },
];

/** The signed-in frame: organisation switcher, navigation, account menu, and the page. */
export function Shell() {
  const me = useMe();
  const { orgId } = useParams();
  const location = useLocation();
  const navigate = useNavigate();
  const client = useQueryClient();
  const [signOutError, setSignOutError] = useState<string | null>(null);
  const [menuOpen, setMenuOpen] = useState(false);

  if (me.isPending) return <Loading what="your account" />;
  if (!me.data) return <Navigate to="/" replace state={{ from: location.pathname }} />;
  const membership = orgId ? me.data.organizations.find((o) => o.id === orgId) : undefined;

  async function signOut() {
    try {
      await api("POST", "/api/v1/auth/sign-out");
      rememberCsrf(null);
      client.clear();
      client.setQueryData(["me"], null);
      navigate("/", { replace: true });
    } catch (error) {
      setSignOutError(errorText(error));
    }
  }

  const current = membership ?? me.data.organizations[0];
  const permissions = new Set(membership?.permissions ?? []);
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">PatchPilot</span>
        {me.data.organizations.length > 0 ? (
          <label className="org-switch">
            <span className="visually-hidden">Organisation</span>
            <select
              value={current?.id ?? ""}
              onChange={(event) => navigate(`/orgs/${event.target.value}/dashboard`)}
            >
              {me.data.organizations.map((o) => (
                <option key={o.id} value={o.id}>
                  {o.name}
                </option>
              ))}
            </select>
          </label>
        ) : null}
        <button
          type="button"
          className="menu-toggle"
          aria-expanded={menuOpen}
          aria-controls="main-nav"
          onClick={() => setMenuOpen(!menuOpen)}
        >
          Menu
        </button>
        <div className="account">
          <NavLink to="/account">{me.data.user.name}</NavLink>
          {current ? <span className="role">{current.role}</span> : null}
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <div className="body">
        {current ? (
          <nav id="main-nav" aria-label="Sections" className={menuOpen ? "open" : ""}>
            <ul>
              {SECTIONS.filter((s) => !membership || permissions.has(s.permission)).map((s) => (
                <li key={s.path}>
                  <NavLink to={`/orgs/${current.id}/${s.path}`} onClick={() => setMenuOpen(false)}>
                    {s.label}
                  </NavLink>
                </li>
              ))}
            </ul>
          </nav>
        ) : null}
        <main id="main" tabIndex={-1}>
          {signOutError ? (
            <p className="error" role="alert">
              {signOutError}
            </p>
          ) : null}
          {orgId && !membership ? (
            <section className="card">
              <h1>Organisation not found</h1>
              <p>You are not a member of this organisation, or it does not exist.</p>
            </section>
          ) : membership ? (
            <OrgProvider
              value={{
                orgId: membership.id,
                name: membership.name,
                role: membership.role,
                can: (action) => permissions.has(action),
              }}
            >
              <Outlet />
            </OrgProvider>
          ) : (
            <Outlet />
          )}
        </main>
      </div>
    </div>
  );
}
