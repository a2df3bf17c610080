import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { Link, useParams } from "react-router-dom";
import { api, errorText } from "../api";
import { ErrorNote, Loading, PageTitle, when } from "../components/ui";
import { useOrg } from "../session";
import type { Page, Rollout, RolloutDevice } from "../types";

/** Keeps the rollout's cached state current from the server-sent events stream while the page is open. */
function useLiveRollout(orgId: string, rolloutId: string) {
  const client = useQueryClient();
  useEffect(() => {
    const source = new EventSource(`/api/v1/orgs/${orgId}/rollouts/${rolloutId}/events`);
    source.addEventListener("rollout", (event) => {
      const rollout = JSON.parse((event as MessageEvent<string>).data) as Rollout;
      client.setQueryData(["org", orgId, "rollout", rolloutId], rollout);
      void client.invalidateQueries({ queryKey: ["org", orgId, "rollout", rolloutId, "devices"] });
    });
    return () => source.close();
  }, [client, orgId, rolloutId]);
}

export function RolloutDetailPage() {
  const { orgId, can } = useOrg();
  const { rolloutId = "" } = useParams();
  const client = useQueryClient();
  useLiveRollout(orgId, rolloutId);
  const rollout = useQuery({
    queryKey: ["org", orgId, "rollout", rolloutId],
    queryFn: () => api<Rollout>("GET", `/api/v1/orgs/${orgId}/rollouts/${rolloutId}`),
  });
  const devices = useQuery({
    queryKey: ["org", orgId, "rollout", rolloutId, "devices"],
    queryFn: () => api<Page<RolloutDevice>>("GET", `/api/v1/orgs/${orgId}/rollouts/${rolloutId}/devices?limit=100`),
  });
  const act = useMutation({
    mutationFn: (verb: "pause" | "resume" | "cancel" | "approve") =>
      api("POST", `/api/v1/orgs/${orgId}/rollouts/${rolloutId}/${verb}`, {}),
    onSuccess: () => client.invalidateQueries({ queryKey: ["org", orgId, "rollout", rolloutId] }),
  });
  const r = rollout.data;
  const awaitingApproval = r?.rings.some((ring) => ring.state === "awaiting_approval");
  const manage = can("rollouts.manage");
  return (
    <>
      <p>
        <Link to={`/orgs/${orgId}/rollouts`}>← All rollouts</Link>
      </p>
      <ErrorNote error={rollout.error} />
      {rollout.isPending ? <Loading what="the rollout" /> : null}
      {r ? (
        <>
          <PageTitle
            actions={
              <>
                {can("rollouts.approve") && awaitingApproval ? (
                  <button type="button" onClick={() => act.mutate("approve")}>
                    Approve promotion
                  </button>
                ) : null}
                {manage && r.state === "running" ? (
                  <button type="button" className="secondary" onClick={() => act.mutate("pause")}>
                    Pause
                  </button>
                ) : null}
                {manage && (r.state === "paused" || r.state === "halted") ? (
                  <button type="button" onClick={() => act.mutate("resume")}>
                    Resume
                  </button>
                ) : null}
                {manage && !["completed", "canceled"].includes(r.state) ? (
                  <button type="button" className="danger" onClick={() => act.mutate("cancel")}>
                    Cancel rollout
                  </button>
                ) : null}
              </>
            }
          >
            {r.name}
          </PageTitle>
          {act.error ? (
            <p className="error" role="alert">
              {errorText(act.error)}
            </p>
          ) : null}
          <p aria-live="polite">
            State: <strong>{r.state}</strong>
            {r.haltedReason ? ` (${r.haltedReason})` : ""}. Installs {r.mode}
            {r.packages.length ? `: ${r.packages.map((p) => p.name).join(", ")}` : ""}. Created {when(r.createdAt)}.
          </p>
          <div className="rings">
            {r.rings.map((ring) => {
              const done = (ring.counts.succeeded ?? 0) + (ring.counts.failed ?? 0) + (ring.counts.skipped ?? 0);
              return (
                <section key={ring.position} className="card ring">
                  <h2>
                    Ring {ring.position + 1}: {ring.name}
                  </h2>
                  <p>{ring.state.replace(/_/g, " ")}</p>
                  <progress max={Math.max(ring.counts.total, 1)} value={done} aria-label={`Ring ${ring.name} progress`} />
                  <p className="small">
                    {ring.counts.succeeded ?? 0} succeeded, {ring.counts.failed ?? 0} failed, {ring.counts.pending}{" "}
                    pending of {ring.counts.total}. Gate: {ring.gate.successPercent}% succeed, soak{" "}
                    {ring.gate.soakMinutes} min{ring.gate.requireApproval ? ", approval" : ""}.
                  </p>
                </section>
              );
            })}
          </div>
          <section className="card">
            <h2>Devices</h2>
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Device</th>
                    <th scope="col">Ring</th>
                    <th scope="col">State</th>
                    <th scope="col">Attempts</th>
                    <th scope="col">Reason</th>
                    <th scope="col">Updated</th>
                  </tr>
                </thead>
                <tbody>
                  {devices.data?.items.map((d) => (
                    <tr key={d.deviceId}>
                      <td>
                        <Link to={`/orgs/${orgId}/devices/${d.deviceId}`}>{d.hostname}</Link>
                      </td>
                      <td>{d.ring + 1}</td>
                      <td>{d.state}</td>
                      <td>{d.attempts}</td>
                      <td>{d.reason ?? ""}</td>
                      <td>{when(d.updatedAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>
        </>
      ) : null}
    </>
  );
}
