import { lazy, Suspense } from "react";
import { Navigate, Route, Routes } from "react-router-dom";
import { Loading } from "./components/ui";
import { Shell } from "./Shell";
import { DashboardPage } from "./pages/DashboardPage";
import { SignInPage } from "./pages/SignInPage";
import { useMe } from "./session";

// The dashboard and sign-in come with the first script; every other page loads when first opened.
const AccountPage = lazy(() => import("./pages/AccountPage").then((m) => ({ default: m.AccountPage })));
const AcceptInvitationPage = lazy(() => import("./pages/AcceptInvitationPage").then((m) => ({ default: m.AcceptInvitationPage })));
const AuditPage = lazy(() => import("./pages/AuditPage").then((m) => ({ default: m.AuditPage })));
const DeviceDetailPage = lazy(() => import("./pages/DeviceDetailPage").then((m) => ({ default: m.DeviceDetailPage })));
const DevicesPage = lazy(() => import("./pages/DevicesPage").then((m) => ({ default: m.DevicesPage })));
const EnrollmentPage = lazy(() => import("./pages/EnrollmentPage").then((m) => ({ default: m.EnrollmentPage })));
const PoliciesPage = lazy(() => import("./pages/PoliciesPage").then((m) => ({ default: m.PoliciesPage })));
const RolloutDetailPage = lazy(() => import("./pages/RolloutDetailPage").then((m) => ({ default: m.RolloutDetailPage })));
const RolloutsPage = lazy(() => import("./pages/RolloutsPage").then((m) => ({ default: m.RolloutsPage })));
const SettingsPage = lazy(() => import("./pages/SettingsPage").then((m) => ({ default: m.SettingsPage })));
const SetupPage = lazy(() => import("./pages/SetupPage").then((m) => ({ default: m.SetupPage })));
const TeamPage = lazy(() => import("./pages/TeamPage").then((m) => ({ default: m.TeamPage })));
const VulnerabilitiesPage = lazy(() => import("./pages/VulnerabilitiesPage").then((m) => ({ default: m.VulnerabilitiesPage })));
const VulnerabilityDetailPage = lazy(() => import("./pages/VulnerabilityDetailPage").then((m) => ({ default: m.VulnerabilityDetailPage })));

function Home() {
  const me = useMe();
  if (me.isPending) return <Loading what="your account" />;
  const first = me.data?.organizations[0];
  if (!me.data) return <SignInPage />;
  if (!first) return <Navigate to="/account" replace />;
  return <Navigate to={`/orgs/${first.id}/dashboard`} replace />;
}

export function App() {
  return (
    <Suspense fallback={<Loading what="the page" />}>
      <Routes>
      <Route path="/" element={<Home />} />
      <Route path="/setup" element={<SetupPage />} />
      <Route path="/invitations/accept" element={<AcceptInvitationPage />} />
      <Route element={<Shell />}>
        <Route path="/account" element={<AccountPage />} />
        <Route path="/orgs/:orgId">
          <Route index element={<Navigate to="dashboard" replace />} />
          <Route path="dashboard" element={<DashboardPage />} />
          <Route path="devices" element={<DevicesPage />} />
          <Route path="devices/:deviceId" element={<DeviceDetailPage />} />
          <Route path="enrolment" element={<EnrollmentPage />} />
          <Route path="vulnerabilities" element={<VulnerabilitiesPage />} />
          <Route path="vulnerabilities/:vulnerabilityId" element={<VulnerabilityDetailPage />} />
          <Route path="rollouts" element={<RolloutsPage />} />
          <Route path="rollouts/:rolloutId" element={<RolloutDetailPage />} />
          <Route path="policies" element={<PoliciesPage />} />
          <Route path="audit" element={<AuditPage />} />
          <Route path="team" element={<TeamPage />} />
          <Route path="settings" element={<SettingsPage />} />
        </Route>
      </Route>
      <Route path="*" element={<NotFound />} />
      </Routes>
    </Suspense>
  );
}

function NotFound() {
  return (
    <main className="card">
      <h1>Page not found</h1>
      <p>
        There is no page at this address. <a href="/">Go to the console</a>.
      </p>
    </main>
  );
}
