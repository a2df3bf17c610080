import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { api, qs } from "../api";
import { ErrorNote, Loading, PageTitle, Pager, useCursorStack, when } from "../components/ui";
import { useOrg } from "../session";
import type { AuditEvent, Page } from "../types";

interface Chain {
  chain: string;
  valid: boolean;
  checkedRows: number;
  headSeq: number;
  firstBroken: { seq: number; reason: string } | null;
}

interface AuditFilters {
  from: string;
  to: string;
  actorId: string;
  action: string;
  targetId: string;
}

const EMPTY: AuditFilters = { from: "", to: "", actorId: "", action: "", targetId: "" };

export function AuditPage() {
  const { orgId } = useOrg();
  const [filters, setFilters] = useState<AuditFilters>(EMPTY);
  const [cursors, setCursors] = useState<string[]>([]);
  const [selected, setSelected] = useState<AuditEvent | null>(null);
  const paging = useCursorStack(cursors, setCursors);
  // The same filters for the page and for its CSV export.
  const query = {
    ...filters,
    from: filters.from ? new Date(`${filters.from}T00:00:00Z`).toISOString() : "",
    to: filters.to ? new Date(`${filters.to}T23:59:59Z`).toISOString() : "",
  };
  const events = useQuery({
    queryKey: ["org", orgId, "audit", filters, paging.cursor],
    queryFn: () =>
      api<Page<AuditEvent>>(
        "GET",
        `/api/v1/orgs/${orgId}/audit-events${qs({ ...query, limit: 50, cursor: paging.cursor })}`,
      ),
    placeholderData: keepPreviousData,
  });
  const verification = useQuery({
    queryKey: ["org", orgId, "audit-verification"],
    queryFn: () => api<{ chains: Chain[] }>("GET", `/api/v1/orgs/${orgId}/audit-events/verification`),
    enabled: selected !== null,
  });

  function apply(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const next = { ...EMPTY };
    for (const key of Object.keys(EMPTY) as (keyof AuditFilters)[]) next[key] = String(form.get(key) ?? "").trim();
    setCursors([]);
    setFilters(next);
  }

  return (
    <>
      <PageTitle>Audit log</PageTitle>
      <form className="filters" onSubmit={apply} aria-label="Filter the audit log">
        <label>
          From
          <input name="from" type="date" defaultValue={filters.from} />
        </label>
        <label>
          To
          <input name="to" type="date" defaultValue={filters.to} />
        </label>
        <label>
          Actor id
          <input name="actorId" defaultValue={filters.actorId} maxLength={36} />
        </label>
        <label>
          Action
          <input name="action" defaultValue={filters.action} placeholder="e.g. findings.decide" maxLength={100} />
        </label>
        <label>
          Target id
          <input name="targetId" defaultValue={filters.targetId} maxLength={200} />
        </label>
        <button type="submit">Apply filters</button>
        <a className="button secondary" href={`/api/v1/orgs/${orgId}/audit-events.csv${qs(query)}`} download>
          Export CSV
        </a>
      </form>
      <ErrorNote error={events.error} />
      {events.isPending ? <Loading what="the audit log" /> : null}
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Actor</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">Result</th>
              <th scope="col">
                <span className="visually-hidden">Details</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {events.data?.items.map((e) => (
              <tr key={e.id}>
                <td>{when(e.occurredAt)}</td>
                <td>
                  {e.actor.type}
                  {e.actor.id ? ` ${e.actor.id.slice(0, 8)}` : ""}
                </td>
                <td>
                  <code>{e.action}</code>
                </td>
                <td>{e.target ? `${e.target.type} ${e.target.id.slice(0, 36)}` : "—"}</td>
                <td>{e.result}</td>
                <td>
                  <button type="button" onClick={() => setSelected(e)}>
                    Details of #{e.seq}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Pager
        hasPrevious={paging.hasPrevious}
        nextCursor={events.data?.nextCursor}
        onPrevious={paging.previous}
        onNext={paging.next}
      />
      {selected ? (
        <section className="card" aria-labelledby="audit-detail">
          <h2 id="audit-detail">
            Event #{selected.seq}: {selected.action}
          </h2>
          <dl className="facts">
            <dt>When</dt>
            <dd>{when(selected.occurredAt)}</dd>
            <dt>Actor</dt>
            <dd>
              {selected.actor.type} {selected.actor.id ?? ""}
            </dd>
            <dt>From</dt>
            <dd>
              {selected.ip ?? "—"} {selected.userAgent ?? ""}
            </dd>
            <dt>Result</dt>
            <dd>
              {selected.result}
              {selected.errorCode ? ` (${selected.errorCode})` : ""}
            </dd>
            <dt>Hash</dt>
            <dd>
              <code className="hash">{selected.hash}</code>
            </dd>
            <dt>Previous hash</dt>
            <dd>
              <code className="hash">{selected.prevHash}</code>
            </dd>
            <dt>Hash chain</dt>
            <dd aria-live="polite">
              {verification.isPending
                ? "checking…"
                : verification.data?.chains
                    .map((c) =>
                      c.valid
                        ? `${c.chain}: intact (${c.checkedRows} rows checked)`
                        : `${c.chain}: BROKEN at #${c.firstBroken?.seq} (${c.firstBroken?.reason})`,
                    )
                    .join("; ")}
            </dd>
          </dl>
          <pre tabIndex={0} aria-label="Event details">
            <code>{JSON.stringify(selected.details, null, 2)}</code>
          </pre>
          <button type="button" className="secondary" onClick={() => setSelected(null)}>
            Close details
          </button>
        </section>
      ) : null}
    </>
  );
}
