import { Navigate, Route, Routes } from "react-router-dom";
import { Loading } from "./components/ui";
import { Shell } from "./Shell";
import { AccountPage } from "./pages/AccountPage";
import { AcceptInvitationPage } from "./pages/AcceptInvitationPage";
import { AuditPage } from "./pages/AuditPage";
import { DashboardPage } from "./pages/DashboardPage";
import { DeviceDetailPage } from "./pages/DeviceDetailPage";
import { DevicesPage } from "./pages/DevicesPage";
import { EnrollmentPage } from "./pages/EnrollmentPage";
import { PoliciesPage } from "./pages/PoliciesPage";
import { RolloutDetailPage } from "./pages/RolloutDetailPage";
import { RolloutsPage } from "./pages/RolloutsPage";
import { SettingsPage } from "./pages/SettingsPage";
import { SetupPage } from "./pages/SetupPage";
import { SignInPage } from "./pages/SignInPage";
import { TeamPage } from "./pages/TeamPage";
import { VulnerabilitiesPage } from "./pages/VulnerabilitiesPage";
import { VulnerabilityDetailPage } from "./pages/VulnerabilityDetailPage";
import { useMe } from "./session";

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
