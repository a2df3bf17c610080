import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { Link } from "react-router-dom";
import { api, qs } from "../api";
import { ErrorNote, Loading, PageTitle, Pager, useCursorStack, when } from "../components/ui";
import { useOrg } from "../session";
import type { Device, Group, Page } from "../types";

interface Filters {
  q: string;
  osFamily: string;
  groupId: string;
  tag: string;
  online: string;
  criticality: string;
}

const EMPTY: Filters = { q: "", osFamily: "", groupId: "", tag: "", online: "", criticality: "" };

type SortKey = "hostname" | "os" | "online" | "risk" | "lastSeen";
type Order = "asc" | "desc";
interface Sort {
  key: SortKey;
  order: Order;
}

/** The server's sort keys, with the direction each starts in (most at risk, most recently seen first). */
const SORTS: Record<SortKey, { label: string; first: Order; described: string }> = {
  hostname: { label: "Hostname", first: "asc", described: "hostname" },
  os: { label: "Operating system", first: "asc", described: "operating system" },
  online: { label: "State", first: "desc", described: "state (online first, then by last seen)" },
  risk: { label: "Open findings (risk)", first: "desc", described: "risk" },
  lastSeen: { label: "Last seen", first: "desc", described: "last seen" },
};

function SortHeader({ column, sort, onSort }: { column: SortKey; sort: Sort; onSort: (next: Sort) => void }) {
  const { label, first } = SORTS[column];
  const active = sort.key === column;
  const flipped: Order = sort.order === "asc" ? "desc" : "asc";
  return (
    <th scope="col" aria-sort={active ? (sort.order === "asc" ? "ascending" : "descending") : "none"}>
      <button
        type="button"
        className="sort"
        onClick={() => onSort(active ? { key: column, order: flipped } : { key: column, order: first })}
      >
        {label}
        <span aria-hidden="true">{active ? (sort.order === "asc" ? " ▲" : " ▼") : ""}</span>
      </button>
    </th>
  );
}

export function DevicesPage() {
  const { orgId } = useOrg();
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [sort, setSort] = useState<Sort>({ key: "hostname", order: "asc" });
  const [cursors, setCursors] = useState<string[]>([]);
  const paging = useCursorStack(cursors, setCursors);
  const groups = useQuery({
    queryKey: ["org", orgId, "groups"],
    queryFn: () => api<{ items: Group[] }>("GET", `/api/v1/orgs/${orgId}/device-groups`),
  });
  const devices = useQuery({
    queryKey: ["org", orgId, "devices", filters, sort, paging.cursor],
    queryFn: () =>
      api<Page<Device>>(
        "GET",
        `/api/v1/orgs/${orgId}/devices${qs({ ...filters, sort: sort.key, order: sort.order, limit: 50, cursor: paging.cursor })}`,
      ),
    placeholderData: keepPreviousData,
  });

  function sortBy(next: Sort) {
    setCursors([]);
    setSort(next);
  }

  function apply(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const next = { ...EMPTY };
    for (const key of Object.keys(EMPTY) as (keyof Filters)[]) next[key] = String(form.get(key) ?? "").trim();
    setCursors([]);
    setFilters(next);
  }

  return (
    <>
      <PageTitle>Devices</PageTitle>
      <form className="filters" onSubmit={apply} aria-label="Filter devices">
        <label>
          Search hostname
          <input name="q" type="search" maxLength={100} defaultValue={filters.q} />
        </label>
        <label>
          Operating system
          <select name="osFamily" defaultValue={filters.osFamily}>
            <option value="">any</option>
            <option value="linux">Linux</option>
            <option value="windows">Windows</option>
            <option value="macos">macOS</option>
          </select>
        </label>
        <label>
          Group
          <select name="groupId" defaultValue={filters.groupId}>
            <option value="">any</option>
            {groups.data?.items.map((g) => (
              <option key={g.id} value={g.id}>
                {g.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Tag
          <input name="tag" maxLength={64} defaultValue={filters.tag} />
        </label>
        <label>
          State
          <select name="online" defaultValue={filters.online}>
            <option value="">any</option>
            <option value="true">online</option>
            <option value="false">offline</option>
          </select>
        </label>
        <label>
          Criticality
          <select name="criticality" defaultValue={filters.criticality}>
            <option value="">any</option>
            <option value="critical">critical</option>
            <option value="high">high</option>
            <option value="medium">medium</option>
            <option value="low">low</option>
          </select>
        </label>
        <button type="submit">Apply filters</button>
      </form>
      <ErrorNote error={devices.error} />
      {devices.isPending ? <Loading what="devices" /> : null}
      <div className="table-wrap">
        <table>
          <caption className="visually-hidden">
            Devices, sorted by {SORTS[sort.key].described}, {sort.order === "asc" ? "ascending" : "descending"}
          </caption>
          <thead>
            <tr>
              <SortHeader column="hostname" sort={sort} onSort={sortBy} />
              <SortHeader column="os" sort={sort} onSort={sortBy} />
              <SortHeader column="online" sort={sort} onSort={sortBy} />
              <th scope="col">Criticality</th>
              <SortHeader column="risk" sort={sort} onSort={sortBy} />
              <th scope="col">Updates (security)</th>
              <th scope="col">Groups</th>
              <SortHeader column="lastSeen" sort={sort} onSort={sortBy} />
            </tr>
          </thead>
          <tbody>
            {devices.data?.items.map((d) => (
              <tr key={d.id}>
                <td>
                  <Link to={`/orgs/${orgId}/devices/${d.id}`}>{d.hostname}</Link>
                </td>
                <td>
                  {d.os.name} {d.os.version}
                </td>
                <td>
                  <span className={`badge ${d.online ? "ok" : ""}`}>{d.online ? "online" : "offline"}</span>
                </td>
                <td>{d.criticality}</td>
                <td>{d.openFindings === 0 ? "none" : `${d.openFindings} (risk ${d.risk})`}</td>
                <td>
                  {d.inventory ? `${d.inventory.updateCount} (${d.inventory.securityUpdateCount})` : "no inventory yet"}
                </td>
                <td>{d.groups.map((g) => g.name).join(", ") || "—"}</td>
                <td>{when(d.lastSeenAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {devices.data && devices.data.items.length === 0 ? (
        <p>
          No devices match. <Link to={`/orgs/${orgId}/enrolment`}>Enrol a device</Link>.
        </p>
      ) : null}
      <Pager
        hasPrevious={paging.hasPrevious}
        nextCursor={devices.data?.nextCursor}
        onPrevious={paging.previous}
        onNext={paging.next}
      />
    </>
  );
}
