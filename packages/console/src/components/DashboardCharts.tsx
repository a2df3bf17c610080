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
import type { FindingsSummary } from "../types";

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

/** The dashboard's three charts over the daily trend; its own script, loaded beside the page's data. */
export function DashboardCharts({ trend }: { trend: FindingsSummary["trend"] }) {
  return (
    <div className="charts">
      <section className="card chart">
        <h2>Open findings over time</h2>
        <ResponsiveContainer width="100%" height={240}>
          <AreaChart data={trend}>
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
          <BarChart data={trend}>
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
          <LineChart data={weeklyCompliance(trend)}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="week" />
            <YAxis domain={[0, 100]} unit="%" />
            <Tooltip />
            <Line dataKey="percent" name="open findings within SLA" stroke="#1d4ed8" isAnimationActive={false} />
          </LineChart>
        </ResponsiveContainer>
      </section>
    </div>
  );
}
