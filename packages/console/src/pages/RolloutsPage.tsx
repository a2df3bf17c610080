import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router-dom";
import { api, errorText } from "../api";
import { ErrorNote, Loading, PageTitle, when } from "../components/ui";
import { useOrg } from "../session";
import type { Group, MaintenanceWindow, Page, Rollout, RolloutSummary } from "../types";

interface RingDraft {
  name: string;
  groupIds: string[];
  successPercent: number;
  soakMinutes: number;
  requireApproval: boolean;
}

const list = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);

function NewRollout() {
  const { orgId } = useOrg();
  const navigate = useNavigate();
  const client = useQueryClient();
  const [params] = useSearchParams();
  const prefilled = list(params.get("fix") ?? "");
  const [mode, setMode] = useState("packages");
  const [rings, setRings] = useState<RingDraft[]>([
    { name: "Test", groupIds: [], successPercent: 100, soakMinutes: 60, requireApproval: true },
  ]);
  const [error, setError] = useState<string | null>(null);
  const groups = useQuery({
    queryKey: ["org", orgId, "groups"],
    queryFn: () => api<{ items: Group[] }>("GET", `/api/v1/orgs/${orgId}/device-groups`),
  });
  const windows = useQuery({
    queryKey: ["org", orgId, "maintenance-windows"],
    queryFn: () => api<MaintenanceWindow[]>("GET", `/api/v1/orgs/${orgId}/maintenance-windows`),
  });
  const create = useMutation({
    mutationFn: (body: unknown) => api<Rollout>("POST", `/api/v1/orgs/${orgId}/rollouts`, body),
    onSuccess: async (rollout) => {
      await client.invalidateQueries({ queryKey: ["org", orgId, "rollouts"] });
      navigate(`/orgs/${orgId}/rollouts/${rollout.id}`);
    },
    onError: (failure) => setError(errorText(failure)),
  });

  function ring(i: number, patch: Partial<RingDraft>) {
    setRings(rings.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  }

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const name = String(form.get("name") ?? "").trim();
    if (!name) return setError("Give the rollout a name.");
    if (rings.some((r) => r.groupIds.length === 0)) return setError("Every ring needs at least one device group.");
    const body: Record<string, unknown> = { name, mode, rings };
    if (mode === "packages") {
      const packages = list(String(form.get("packages") ?? "")).map((p) => ({ name: p }));
      const fix = list(String(form.get("fixVulnerabilities") ?? ""));
      if (packages.length === 0 && fix.length === 0) {
        return setError("Name the packages to update, or the vulnerabilities to fix.");
      }
      if (packages.length) body.packages = packages;
      if (fix.length) body.fixVulnerabilities = fix;
    }
    const windowId = String(form.get("windowId") ?? "");
    if (windowId) body.windowId = windowId;
    body.reboot = String(form.get("reboot") ?? "if_required");
    setError(null);
    create.mutate(body);
  }

  return (
    <section className="card">
      <h2>New rollout</h2>
      {prefilled.length > 0 ? (
        <p>
          Prefilled from your selection: the fixes for {prefilled.join(", ")}. Choose the rings, their gates and
          the window, then start.
        </p>
      ) : null}
      <form onSubmit={submit} noValidate className="grid-form">
        <label htmlFor="rollout-name">Name</label>
        <input id="rollout-name" name="name" maxLength={200} />
        <label htmlFor="rollout-mode">What to install</label>
        <select id="rollout-mode" value={mode} onChange={(event) => setMode(event.target.value)}>
          <option value="packages">chosen packages or fixes for chosen vulnerabilities</option>
          <option value="security">all security updates</option>
          <option value="all">all updates</option>
        </select>
        {mode === "packages" ? (
          <>
            <label htmlFor="rollout-packages">Packages (names, separated by commas)</label>
            <input id="rollout-packages" name="packages" />
            <label htmlFor="rollout-fix">Fix these vulnerabilities (ids, separated by commas)</label>
            <input id="rollout-fix" name="fixVulnerabilities" defaultValue={prefilled.join(", ")} />
          </>
        ) : null}
        <label htmlFor="rollout-window">Maintenance window</label>
        <select id="rollout-window" name="windowId">
          <option value="">any time (no window)</option>
          {windows.data?.map((w) => (
            <option key={w.id} value={w.id}>
              {w.name}
            </option>
          ))}
        </select>
        <label htmlFor="rollout-reboot">Reboot</label>
        <select id="rollout-reboot" name="reboot" defaultValue="if_required">
          <option value="if_required">if an update requires it</option>
          <option value="never">never</option>
          <option value="always">always</option>
        </select>
        {rings.map((r, i) => (
          <fieldset key={`ring-${i + 1}`} className="ring">
            <legend>Ring {i + 1}</legend>
            <label htmlFor={`ring-${i}-name`}>Ring name</label>
            <input id={`ring-${i}-name`} value={r.name} onChange={(event) => ring(i, { name: event.target.value })} />
            <label htmlFor={`ring-${i}-groups`}>Device groups</label>
            <select
              id={`ring-${i}-groups`}
              multiple
              value={r.groupIds}
              onChange={(event) => ring(i, { groupIds: [...event.target.selectedOptions].map((o) => o.value) })}
            >
              {groups.data?.items.map((g) => (
                <option key={g.id} value={g.id}>
                  {g.name} ({g.deviceCount})
                </option>
              ))}
            </select>
            <label htmlFor={`ring-${i}-success`}>Gate: devices that must succeed (%)</label>
            <input
              id={`ring-${i}-success`}
              type="number"
              min={0}
              max={100}
              value={r.successPercent}
              onChange={(event) => ring(i, { successPercent: Number(event.target.value) })}
            />
            <label htmlFor={`ring-${i}-soak`}>Gate: soak time (minutes)</label>
            <input
              id={`ring-${i}-soak`}
              type="number"
              min={0}
              value={r.soakMinutes}
              onChange={(event) => ring(i, { soakMinutes: Number(event.target.value) })}
            />
            <label className="check">
              <input
                type="checkbox"
                checked={r.requireApproval}
                onChange={(event) => ring(i, { requireApproval: event.target.checked })}
              />
              A person approves before the next ring
            </label>
            {rings.length > 1 ? (
              <button type="button" className="secondary" onClick={() => setRings(rings.filter((_, j) => j !== i))}>
                Remove ring {i + 1}
              </button>
            ) : null}
          </fieldset>
        ))}
        <button
          type="button"
          className="secondary"
          onClick={() =>
            setRings([
              ...rings,
              { name: "Production", groupIds: [], successPercent: 95, soakMinutes: 0, requireApproval: false },
            ])
          }
        >
          Add a ring
        </button>
        <button type="submit" disabled={create.isPending}>
          Start rollout
        </button>
      </form>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
    </section>
  );
}

export function RolloutsPage() {
  const { orgId, can } = useOrg();
  const [params] = useSearchParams();
  const [creating, setCreating] = useState(params.has("fix"));
  const rollouts = useQuery({
    queryKey: ["org", orgId, "rollouts"],
    queryFn: () => api<Page<RolloutSummary>>("GET", `/api/v1/orgs/${orgId}/rollouts?limit=100`),
  });
  return (
    <>
      <PageTitle
        actions={
          can("rollouts.manage") && !creating ? (
            <button type="button" onClick={() => setCreating(true)}>
              New rollout
            </button>
          ) : null
        }
      >
        Rollouts
      </PageTitle>
      {creating && can("rollouts.manage") ? <NewRollout /> : null}
      <ErrorNote error={rollouts.error} />
      {rollouts.isPending ? <Loading what="rollouts" /> : null}
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">State</th>
              <th scope="col">Installs</th>
              <th scope="col">Current ring</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {rollouts.data?.items.map((r) => (
              <tr key={r.id}>
                <td>
                  <Link to={`/orgs/${orgId}/rollouts/${r.id}`}>{r.name}</Link>
                </td>
                <td>{r.state}</td>
                <td>{r.mode}</td>
                <td>{r.currentRing + 1}</td>
                <td>{when(r.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {rollouts.data?.items.length === 0 ? <p>No rollouts yet.</p> : null}
    </>
  );
}
