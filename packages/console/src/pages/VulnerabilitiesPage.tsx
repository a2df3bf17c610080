import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { Link, useNavigate } from "react-router-dom";
import { api, qs } from "../api";
import { FindingsTable, rolloutFixing } from "../components/FindingsTable";
import { ErrorNote, Loading, PageTitle, Pager, Severity, useCursorStack } from "../components/ui";
import { useOrg } from "../session";
import type { Finding, Page, Vulnerability } from "../types";

function ByCve() {
  const { orgId, can } = useOrg();
  const navigate = useNavigate();
  const maySelect = can("rollouts.manage");
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [sort, setSort] = useState<"risk" | "affectedDevices">("risk");
  const [cursors, setCursors] = useState<string[]>([]);
  const paging = useCursorStack(cursors, setCursors);
  const list = useQuery({
    queryKey: ["org", orgId, "vulnerabilities", sort, paging.cursor],
    queryFn: () =>
      api<Page<Vulnerability>>(
        "GET",
        `/api/v1/orgs/${orgId}/vulnerabilities${qs({ sort, limit: 50, cursor: paging.cursor })}`,
      ),
    placeholderData: keepPreviousData,
  });
  return (
    <>
      <label className="inline">
        Sort by
        <select
          value={sort}
          onChange={(event) => {
            setCursors([]);
            setSort(event.target.value === "affectedDevices" ? "affectedDevices" : "risk");
          }}
        >
          <option value="risk">risk</option>
          <option value="affectedDevices">affected devices</option>
        </select>
      </label>
      <ErrorNote error={list.error} />
      {list.isPending ? <Loading what="vulnerabilities" /> : null}
      {maySelect ? (
        <div className="row selection" aria-live="polite">
          <span>
            {selected.size === 0
              ? "Tick vulnerabilities to fix their open findings in a rollout."
              : `${selected.size} vulnerabilit${selected.size === 1 ? "y" : "ies"} selected.`}
          </span>
          <button
            type="button"
            disabled={selected.size === 0}
            onClick={() => navigate(rolloutFixing(orgId, [...selected]))}
          >
            Create rollout from selection
          </button>
        </div>
      ) : null}
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              {maySelect ? (
                <th scope="col">
                  <span className="visually-hidden">Select</span>
                </th>
              ) : null}
              <th scope="col">Vulnerability</th>
              <th scope="col">Severity</th>
              <th scope="col">CVSS</th>
              <th scope="col">EPSS</th>
              <th scope="col">KEV</th>
              <th scope="col">Affected devices</th>
              <th scope="col">Open findings</th>
              <th scope="col">Summary</th>
            </tr>
          </thead>
          <tbody>
            {list.data?.items.map((v) => (
              <tr key={v.id}>
                {maySelect ? (
                  <td>
                    {v.openFindings > 0 ? (
                      <input
                        type="checkbox"
                        aria-label={`Select ${v.id}`}
                        checked={selected.has(v.id)}
                        onChange={(event) => {
                          const next = new Set(selected);
                          if (event.target.checked) next.add(v.id);
                          else next.delete(v.id);
                          setSelected(next);
                        }}
                      />
                    ) : null}
                  </td>
                ) : null}
                <td>
                  <Link to={`/orgs/${orgId}/vulnerabilities/${encodeURIComponent(v.id)}`}>{v.id}</Link>
                </td>
                <td>
                  <Severity value={v.severity} />
                </td>
                <td>{v.cvssScore ?? "—"}</td>
                <td>{v.epss === null ? "—" : `${(v.epss * 100).toFixed(1)}%`}</td>
                <td>{v.kev ? <span className="badge kev">KEV</span> : "no"}</td>
                <td>{v.affectedDevices}</td>
                <td>{v.openFindings}</td>
                <td className="summary">{v.summary ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {list.data?.items.length === 0 ? <p>No vulnerabilities affect this organisation's devices.</p> : null}
      <Pager
        hasPrevious={paging.hasPrevious}
        nextCursor={list.data?.nextCursor}
        onPrevious={paging.previous}
        onNext={paging.next}
      />
    </>
  );
}

interface FindingFilters {
  status: string;
  severity: string;
  kev: string;
  overdue: string;
}

function AllFindings() {
  const { orgId } = useOrg();
  const [filters, setFilters] = useState<FindingFilters>({ status: "open", severity: "", kev: "", overdue: "" });
  const [cursors, setCursors] = useState<string[]>([]);
  const paging = useCursorStack(cursors, setCursors);
  const list = useQuery({
    queryKey: ["org", orgId, "findings", filters, paging.cursor],
    queryFn: () =>
      api<Page<Finding>>("GET", `/api/v1/orgs/${orgId}/findings${qs({ ...filters, limit: 50, cursor: paging.cursor })}`),
    placeholderData: keepPreviousData,
  });
  function apply(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setCursors([]);
    setFilters({
      status: String(form.get("status") ?? "open"),
      severity: String(form.get("severity") ?? ""),
      kev: String(form.get("kev") ?? ""),
      overdue: String(form.get("overdue") ?? ""),
    });
  }
  return (
    <>
      <form className="filters" onSubmit={apply} aria-label="Filter findings">
        <label>
          Status
          <select name="status" defaultValue={filters.status}>
            <option value="open">open</option>
            <option value="accepted_risk">accepted risk</option>
            <option value="false_positive">false positive</option>
            <option value="fixed">fixed</option>
            <option value="all">all</option>
          </select>
        </label>
        <label>
          Severity
          <select name="severity" defaultValue={filters.severity}>
            <option value="">any</option>
            {["critical", "high", "medium", "low", "negligible", "unknown"].map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Known exploited
          <select name="kev" defaultValue={filters.kev}>
            <option value="">any</option>
            <option value="true">KEV only</option>
          </select>
        </label>
        <label>
          SLA
          <select name="overdue" defaultValue={filters.overdue}>
            <option value="">any</option>
            <option value="true">past SLA only</option>
          </select>
        </label>
        <button type="submit">Apply filters</button>
        <a className="button secondary" href={`/api/v1/orgs/${orgId}/findings.csv${qs({ ...filters })}`} download>
          Export CSV
        </a>
      </form>
      <ErrorNote error={list.error} />
      {list.isPending ? <Loading what="findings" /> : null}
      {list.data ? <FindingsTable findings={list.data.items} show="device" selectable /> : null}
      {list.data?.items.length === 0 ? <p>No findings match.</p> : null}
      <Pager
        hasPrevious={paging.hasPrevious}
        nextCursor={list.data?.nextCursor}
        onPrevious={paging.previous}
        onNext={paging.next}
      />
    </>
  );
}

export function VulnerabilitiesPage() {
  const [view, setView] = useState<"cve" | "findings">("cve");
  return (
    <>
      <PageTitle>Vulnerabilities</PageTitle>
      <div role="tablist" aria-label="View" className="tabs">
        <button type="button" role="tab" aria-selected={view === "cve"} onClick={() => setView("cve")}>
          By vulnerability
        </button>
        <button type="button" role="tab" aria-selected={view === "findings"} onClick={() => setView("findings")}>
          By device (findings)
        </button>
      </div>
      <div role="tabpanel">{view === "cve" ? <ByCve /> : <AllFindings />}</div>
    </>
  );
}
