import { useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { api } from "../api";
import { ErrorNote, Loading, PageTitle, Stat } from "../components/ui";
import { useOrg } from "../session";
import type { Dashboard, FindingsSummary } from "../types";

type ChartsModule = typeof import("../components/DashboardCharts");
let chartsModule: ChartsModule | null = null;

/**
 * The charts' library is most of the console's script: in its own file it downloads and compiles
 * while the page waits for its data, started at start-up when the console opens on the dashboard.
 */
export function loadDashboardCharts(): Promise<ChartsModule> {
  return import("../components/DashboardCharts").then((m) => {
    chartsModule = m;
    return m;
  });
}

/** The charts once their script is here: at once when it came with the data (no suspense, no wait). */
function useDashboardCharts(): { charts: ChartsModule | null; error: unknown } {
  const [charts, setCharts] = useState(chartsModule);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (!charts)
      loadDashboardCharts().then(setCharts, () =>
        setError(new Error("The charts could not be loaded. Reload the page to try again.")),
      );
  }, [charts]);
  return { charts, error };
}

export function DashboardPage() {
  const { orgId, name } = useOrg();
  const summary = useQuery({
    queryKey: ["org", orgId, "findings-summary"],
    queryFn: () => api<FindingsSummary>("GET", `/api/v1/orgs/${orgId}/findings/summary`),
  });
  const dashboard = useQuery({
    queryKey: ["org", orgId, "dashboard"],
    queryFn: () => api<Dashboard>("GET", `/api/v1/orgs/${orgId}/dashboard`),
  });
  const { charts, error: chartsError } = useDashboardCharts();
  const s = summary.data;
  const d = dashboard.data;
  return (
    <>
      <PageTitle>{name}: fleet risk</PageTitle>
      <ErrorNote error={summary.error ?? dashboard.error ?? chartsError} />
      {summary.isPending || dashboard.isPending ? <Loading what="the dashboard" /> : null}
      {s && d ? (
        <>
          <section aria-labelledby="now" className="stats">
            <h2 id="now" className="visually-hidden">
              Now
            </h2>
            <Stat label="Critical open" value={s.open.critical} />
            <Stat label="High open" value={s.open.high} />
            <Stat label="Medium open" value={s.open.medium} />
            <Stat label="Low open" value={s.open.low + s.open.negligible + s.open.unknown} />
            <Stat label="Known exploited (KEV)" value={s.kev} />
            <Stat label="Past SLA" value={s.overdue} />
            <Stat label="Devices online" value={`${d.devices.online} / ${d.devices.total}`} />
            <Stat label="Devices offline" value={d.devices.offline} />
            <Stat label="Not seen for 7 days" value={d.devices.notSeen7Days} />
            <Stat
              label="Patch compliance"
              value={d.compliancePercent === null ? "—" : `${d.compliancePercent}%`}
              hint="devices with no finding past its SLA"
            />
            <Stat
              label="Mean time to remediate"
              value={s.meanTimeToRemediateDays === null ? "—" : `${s.meanTimeToRemediateDays.toFixed(1)} days`}
            />
          </section>
          {charts ? <charts.DashboardCharts trend={s.trend} /> : <Loading what="the charts" />}
        </>
      ) : null}
    </>
  );
}
