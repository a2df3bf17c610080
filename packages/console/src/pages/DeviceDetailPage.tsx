import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useParams } from "react-router-dom";
import { api, qs } from "../api";
import { FindingsTable } from "../components/FindingsTable";
import { ErrorNote, Loading, PageTitle, Pager, useCursorStack, when } from "../components/ui";
import { useOrg } from "../session";
import type { Device, DeviceEvent, DeviceRollout, Finding, Page } from "../types";

interface Installed {
  kind: string;
  ecosystem: string;
  name: string;
  version: string;
  arch: string;
}

export function DeviceDetailPage() {
  const { orgId, can } = useOrg();
  const { deviceId = "" } = useParams();
  const [search, setSearch] = useState("");
  const [cursors, setCursors] = useState<string[]>([]);
  const paging = useCursorStack(cursors, setCursors);
  const device = useQuery({
    queryKey: ["org", orgId, "device", deviceId],
    queryFn: () => api<Device>("GET", `/api/v1/orgs/${orgId}/devices/${deviceId}`),
  });
  const findings = useQuery({
    queryKey: ["org", orgId, "findings", { deviceId }],
    queryFn: () => api<Page<Finding>>("GET", `/api/v1/orgs/${orgId}/findings${qs({ deviceId, status: "all", limit: 100 })}`),
    enabled: can("vulnerabilities.read"),
  });
  const inventory = useQuery({
    queryKey: ["org", orgId, "device", deviceId, "inventory", search, paging.cursor],
    queryFn: () =>
      api<Page<Installed>>(
        "GET",
        `/api/v1/orgs/${orgId}/devices/${deviceId}/inventory${qs({ q: search, limit: 50, cursor: paging.cursor })}`,
      ),
  });
  const rollouts = useQuery({
    queryKey: ["org", orgId, "device", deviceId, "rollouts"],
    queryFn: () =>
      api<Page<DeviceRollout>>("GET", `/api/v1/orgs/${orgId}/devices/${deviceId}/rollouts${qs({ limit: 50 })}`),
    enabled: can("patching.read"),
  });
  const events = useQuery({
    queryKey: ["org", orgId, "device-events", deviceId],
    queryFn: () => api<Page<DeviceEvent>>("GET", `/api/v1/orgs/${orgId}/device-events${qs({ deviceId, limit: 50 })}`),
    enabled: can("device_events.read"),
  });
  const d = device.data;
  const patchEvents = events.data?.items.filter((e) => /patch|job|rollout/.test(e.eventType)) ?? [];
  return (
    <>
      <p>
        <Link to={`/orgs/${orgId}/devices`}>← All devices</Link>
      </p>
      <ErrorNote error={device.error} />
      {device.isPending ? <Loading what="the device" /> : null}
      {d ? (
        <>
          <PageTitle>{d.hostname}</PageTitle>
          <section className="card">
            <h2>Facts</h2>
            <dl className="facts">
              <dt>Operating system</dt>
              <dd>
                {d.os.name} {d.os.version} ({d.os.release}, build {d.os.build || "—"})
              </dd>
              <dt>Kernel, architecture</dt>
              <dd>
                {d.kernel || "—"}, {d.arch}
              </dd>
              <dt>State</dt>
              <dd>
                {d.status}, {d.online ? "online" : "offline"}, last seen {when(d.lastSeenAt)}
                {d.lastIp ? ` from ${d.lastIp}` : ""}
              </dd>
              <dt>Agent</dt>
              <dd>{d.agentVersion}</dd>
              <dt>Reboot required</dt>
              <dd>{d.rebootRequired ? "yes" : "no"}</dd>
              <dt>Criticality, tags</dt>
              <dd>
                {d.criticality}; {d.tags.join(", ") || "no tags"}
              </dd>
              <dt>Groups</dt>
              <dd>{d.groups.map((g) => g.name).join(", ") || "none"}</dd>
              <dt>Inventory</dt>
              <dd>
                {d.inventory
                  ? `${d.inventory.packageCount} packages, ${d.inventory.updateCount} updates available (${d.inventory.securityUpdateCount} security), reported ${when(d.inventory.updatedAt)}`
                  : "not reported yet"}
              </dd>
            </dl>
          </section>
          {can("vulnerabilities.read") ? (
            <section className="card">
              <h2>Findings</h2>
              <ErrorNote error={findings.error} />
              {findings.data ? (
                findings.data.items.length > 0 ? (
                  <FindingsTable findings={findings.data.items} show="vulnerability" selectable />
                ) : (
                  <p>No findings on this device.</p>
                )
              ) : null}
            </section>
          ) : null}
          {can("patching.read") ? (
            <section className="card">
              <h2>Rollouts</h2>
              <ErrorNote error={rollouts.error} />
              {rollouts.data?.items.length === 0 ? <p>This device has not been in a rollout yet.</p> : null}
              {rollouts.data && rollouts.data.items.length > 0 ? (
                <div className="table-wrap">
                  <table>
                    <caption className="visually-hidden">Rollouts this device was in, newest first</caption>
                    <thead>
                      <tr>
                        <th scope="col">Rollout</th>
                        <th scope="col">Ring</th>
                        <th scope="col">Device's state</th>
                        <th scope="col">Attempts</th>
                        <th scope="col">Rollout's state</th>
                        <th scope="col">Started</th>
                      </tr>
                    </thead>
                    <tbody>
                      {rollouts.data.items.map((r) => (
                        <tr key={r.rolloutId}>
                          <td>
                            <Link to={`/orgs/${orgId}/rollouts/${r.rolloutId}`}>{r.name}</Link>
                          </td>
                          <td>
                            {r.ring + 1}: {r.ringName}
                          </td>
                          <td>
                            {r.state.replace("_", " ")}
                            {r.reason ? ` (${r.reason})` : ""}
                            {r.verified ? `, ${r.verified}` : ""}
                          </td>
                          <td>{r.attempts}</td>
                          <td>{r.rolloutState}</td>
                          <td>{when(r.createdAt)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              ) : null}
            </section>
          ) : null}
          <section className="card">
            <h2>Patch history</h2>
            {patchEvents.length === 0 ? <p>No patch jobs have run on this device yet.</p> : null}
            <ul>
              {patchEvents.map((e) => (
                <li key={e.id}>
                  {when(e.occurredAt)}: {e.eventType} ({e.result})
                </li>
              ))}
            </ul>
          </section>
          <section className="card">
            <h2>Installed software</h2>
            <label>
              Search packages
              <input
                type="search"
                value={search}
                maxLength={100}
                onChange={(event) => {
                  setCursors([]);
                  setSearch(event.target.value);
                }}
              />
            </label>
            <ErrorNote error={inventory.error} />
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Version</th>
                    <th scope="col">Architecture</th>
                    <th scope="col">Kind</th>
                  </tr>
                </thead>
                <tbody>
                  {inventory.data?.items.map((p) => (
                    <tr key={`${p.kind}/${p.name}/${p.arch}/${p.version}`}>
                      <td>{p.name}</td>
                      <td>{p.version}</td>
                      <td>{p.arch}</td>
                      <td>
                        {p.kind} ({p.ecosystem})
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <Pager
              hasPrevious={paging.hasPrevious}
              nextCursor={inventory.data?.nextCursor}
              onPrevious={paging.previous}
              onNext={paging.next}
            />
          </section>
          {can("device_events.read") ? (
            <section className="card">
              <h2>Events</h2>
              <ul className="events">
                {events.data?.items.map((e) => (
                  <li key={e.id}>
                    {when(e.occurredAt)}: {e.eventType} ({e.result})
                  </li>
                ))}
              </ul>
            </section>
          ) : null}
        </>
      ) : null}
    </>
  );
}
