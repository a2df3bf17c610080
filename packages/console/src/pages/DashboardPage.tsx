import { useQuery } from "@tanstack/react-query";
import {
  Area,
  AreaChart,
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";
import { api } from "../api";
import { ErrorNote, Loading, PageTitle, Stat } from "../components/ui";
import { useOrg } from "../session";
import type { Dashboard, FindingsSummary } from "../types";

const SEVERITY_COLOURS = { critical: "#8b0000", high: "#c2410c", medium: "#a16207", low: "#1d4ed8", other: "#475569" };

/** Weekly share of open findings still inside their SLA, from the daily trend. */
function weeklyCompliance(trend: FindingsSummary["trend"]) {
  const weeks = new Map<string, { open: number; overdue: number }>();
  for (const d of trend) {
    const date = new Date(`${d.day}T00:00:00Z`);
    const monday = new Date(date);
    monday.setUTCDate(date.getUTCDate() - ((date.getUTCDay() + 6) % 7));
    const key = monday.toISOString().slice(0, 10);
    const open = d.critical + d.high + d.medium + d.low + d.other;
    const week = weeks.get(key) ?? { open: 0, overdue: 0 };
    week.open += open;
    week.overdue += d.overdue;
    weeks.set(key, week);
  }
  return [...weeks.entries()].map(([week, w]) => ({
    week,
    percent: w.open === 0 ? 100 : Math.round(((w.open - w.overdue) / w.open) * 1000) / 10,
  }));
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
  const s = summary.data;
  const d = dashboard.data;
  return (
    <>
      <PageTitle>{name}: fleet risk</PageTitle>
      <ErrorNote error={summary.error ?? dashboard.error} />
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
          <div className="charts">
            <section className="card chart">
              <h2>Open findings over time</h2>
              <ResponsiveContainer width="100%" height={240}>
                <AreaChart data={s.trend}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="day" />
                  <YAxis allowDecimals={false} />
                  <Tooltip />
                  <Legend />
                  {(["critical", "high", "medium", "low", "other"] as const).map((key) => (
                    <Area
                      key={key}
                      type="monotone"
                      dataKey={key}
                      stackId="1"
                      stroke={SEVERITY_COLOURS[key]}
                      fill={SEVERITY_COLOURS[key]}
                      isAnimationActive={false}
                    />
                  ))}
                </AreaChart>
              </ResponsiveContainer>
            </section>
            <section className="card chart">
              <h2>Remediation: findings fixed per day, KEV and past-SLA open</h2>
              <ResponsiveContainer width="100%" height={240}>
                <BarChart data={s.trend}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="day" />
                  <YAxis allowDecimals={false} />
                  <Tooltip />
                  <Legend />
                  <Bar dataKey="fixedToday" name="fixed" fill="#15803d" isAnimationActive={false} />
                  <Bar dataKey="kev" name="KEV open" fill="#8b0000" isAnimationActive={false} />
                  <Bar dataKey="overdue" name="past SLA" fill="#a16207" isAnimationActive={false} />
                </BarChart>
              </ResponsiveContainer>
            </section>
            <section className="card chart">
              <h2>SLA compliance by week</h2>
              <ResponsiveContainer width="100%" height={240}>
                <LineChart data={weeklyCompliance(s.trend)}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="week" />
                  <YAxis domain={[0, 100]} unit="%" />
                  <Tooltip />
                  <Line dataKey="percent" name="open findings within SLA" stroke="#1d4ed8" isAnimationActive={false} />
                </LineChart>
              </ResponsiveContainer>
            </section>
          </div>
        </>
      ) : null}
    </>
  );
}
