import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { api, errorText } from "../api";
import { PolicyForm, policyInput } from "../components/PolicyForm";
import { ErrorNote, PageTitle, when } from "../components/ui";
import { useOrg } from "../session";
import type { Group, MaintenanceWindow, Policy } from "../types";

function WindowForm({ existing, onDone }: { existing?: MaintenanceWindow; onDone: () => void }) {
  const { orgId } = useOrg();
  const client = useQueryClient();
  const [error, setError] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: (body: unknown) =>
      existing
        ? api("PUT", `/api/v1/orgs/${orgId}/maintenance-windows/${existing.id}`, body)
        : api("POST", `/api/v1/orgs/${orgId}/maintenance-windows`, body),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ["org", orgId, "maintenance-windows"] });
      onDone();
    },
    onError: (failure) => setError(errorText(failure)),
  });
  const prefix = existing ? `w-${existing.id}` : "w-new";
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    save.mutate({
      name: String(form.get("name") ?? ""),
      schedule: String(form.get("schedule") ?? ""),
      durationMinutes: Number(form.get("durationMinutes") ?? 0),
      timeZone: String(form.get("timeZone") ?? "UTC"),
    });
  }
  return (
    <form onSubmit={submit} className="grid-form" noValidate>
      <label htmlFor={`${prefix}-name`}>Name</label>
      <input id={`${prefix}-name`} name="name" defaultValue={existing?.name ?? ""} maxLength={100} />
      <label htmlFor={`${prefix}-schedule`}>Opens (cron schedule, e.g. 0 2 * * 6)</label>
      <input id={`${prefix}-schedule`} name="schedule" defaultValue={existing?.schedule ?? "0 2 * * 6"} />
      <label htmlFor={`${prefix}-duration`}>Open for (minutes)</label>
      <input
        id={`${prefix}-duration`}
        name="durationMinutes"
        type="number"
        min={1}
        defaultValue={existing?.durationMinutes ?? 240}
      />
      <label htmlFor={`${prefix}-tz`}>Time zone</label>
      <input id={`${prefix}-tz`} name="timeZone" defaultValue={existing?.timeZone ?? "UTC"} />
      <div className="row">
        <button type="submit">Save window</button>
        <button type="button" className="secondary" onClick={onDone}>
          Cancel
        </button>
      </div>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
    </form>
  );
}

export function PoliciesPage() {
  const { orgId, can } = useOrg();
  const client = useQueryClient();
  const [editing, setEditing] = useState<string | null>(null);
  const [editingPolicy, setEditingPolicy] = useState<string | null>(null);
  const windows = useQuery({
    queryKey: ["org", orgId, "maintenance-windows"],
    queryFn: () => api<MaintenanceWindow[]>("GET", `/api/v1/orgs/${orgId}/maintenance-windows`),
  });
  const policies = useQuery({
    queryKey: ["org", orgId, "patch-policies"],
    queryFn: () => api<Policy[]>("GET", `/api/v1/orgs/${orgId}/patch-policies`),
  });
  const groups = useQuery({
    queryKey: ["org", orgId, "groups"],
    queryFn: () => api<{ items: Group[] }>("GET", `/api/v1/orgs/${orgId}/device-groups`),
  });
  const removeWindow = useMutation({
    mutationFn: (id: string) => api("DELETE", `/api/v1/orgs/${orgId}/maintenance-windows/${id}`),
    onSuccess: () => client.invalidateQueries({ queryKey: ["org", orgId, "maintenance-windows"] }),
  });
  const setAutomatic = useMutation({
    mutationFn: ({ policy, automatic }: { policy: Policy; automatic: string }) =>
      // The API replaces the whole policy: send every other setting back as it is.
      api("PUT", `/api/v1/orgs/${orgId}/patch-policies/${policy.id}`, { ...policyInput(policy), automatic }),
    onSuccess: () => client.invalidateQueries({ queryKey: ["org", orgId, "patch-policies"] }),
  });
  const removePolicy = useMutation({
    mutationFn: (id: string) => api("DELETE", `/api/v1/orgs/${orgId}/patch-policies/${id}`),
    onSuccess: () => client.invalidateQueries({ queryKey: ["org", orgId, "patch-policies"] }),
  });
  const manage = can("patch_policies.manage");
  const policyForm = (existing?: Policy) => (
    <PolicyForm
      existing={existing}
      groups={groups.data?.items ?? []}
      windows={windows.data ?? []}
      onDone={() => setEditingPolicy(null)}
    />
  );
  const groupName = (id: string) => groups.data?.items.find((g) => g.id === id)?.name ?? id;
  const windowName = (id: string | null) => (id ? (windows.data?.find((w) => w.id === id)?.name ?? id) : "any time");
  return (
    <>
      <PageTitle>Policies and maintenance windows</PageTitle>
      <section className="card">
        <h2>Maintenance windows</h2>
        <ErrorNote error={windows.error ?? removeWindow.error} />
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Schedule</th>
                <th scope="col">Length</th>
                <th scope="col">Next opens</th>
                {manage ? (
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {windows.data?.map((w) => (
                <tr key={w.id}>
                  <td>{w.name}</td>
                  <td>
                    <code>{w.schedule}</code> ({w.timeZone})
                  </td>
                  <td>{w.durationMinutes} min</td>
                  <td>{w.openNow ? "open now" : when(w.nextOpensAt)}</td>
                  {manage ? (
                    <td>
                      {editing === w.id ? (
                        <WindowForm existing={w} onDone={() => setEditing(null)} />
                      ) : (
                        <>
                          <button type="button" onClick={() => setEditing(w.id)}>
                            Edit {w.name}
                          </button>{" "}
                          <button type="button" className="danger" onClick={() => removeWindow.mutate(w.id)}>
                            Delete {w.name}
                          </button>
                        </>
                      )}
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {manage ? (
          editing === "new" ? (
            <WindowForm onDone={() => setEditing(null)} />
          ) : (
            <button type="button" onClick={() => setEditing("new")}>
              New maintenance window
            </button>
          )
        ) : null}
      </section>
      <section className="card">
        <h2>Patch policies</h2>
        <ErrorNote error={policies.error ?? setAutomatic.error ?? removePolicy.error} />
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Group</th>
                <th scope="col">Installs by itself</th>
                <th scope="col">Reboot</th>
                <th scope="col">Window</th>
                <th scope="col">Changed</th>
                {manage ? (
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {policies.data?.map((p) => (
                <tr key={p.id}>
                  <td>{p.name}</td>
                  <td>{groupName(p.groupId)}</td>
                  <td>
                    {manage && editingPolicy !== p.id ? (
                      <label>
                        <span className="visually-hidden">Automatic updates for {p.name}</span>
                        <select
                          value={p.automatic}
                          onChange={(event) => setAutomatic.mutate({ policy: p, automatic: event.target.value })}
                        >
                          <option value="none">nothing</option>
                          <option value="security">security updates</option>
                          <option value="all">all updates</option>
                          <option value="dist-upgrade">all updates (dist-upgrade)</option>
                        </select>
                      </label>
                    ) : (
                      p.automatic
                    )}
                  </td>
                  <td>{p.reboot}</td>
                  <td>{windowName(p.windowId)}</td>
                  <td>{when(p.updatedAt)}</td>
                  {manage ? (
                    <td>
                      {editingPolicy === p.id ? (
                        policyForm(p)
                      ) : (
                        <>
                          <button type="button" onClick={() => setEditingPolicy(p.id)}>
                            Edit {p.name}
                          </button>{" "}
                          <button type="button" className="danger" onClick={() => removePolicy.mutate(p.id)}>
                            Delete {p.name}
                          </button>
                        </>
                      )}
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {policies.data?.length === 0 ? <p>No patch policies yet.</p> : null}
        {manage ? (
          editingPolicy === "new" ? (
            policyForm()
          ) : (
            <button type="button" onClick={() => setEditingPolicy("new")}>
              New patch policy
            </button>
          )
        ) : null}
      </section>
    </>
  );
}
