import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { api, errorText } from "../api";
import { useOrg } from "../session";
import type { Group, MaintenanceWindow, Policy } from "../types";

const names = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);

/** A policy as the API takes it back: every field the view has, less its id and time. */
export function policyInput(p: Policy): Record<string, unknown> {
  const { id: _id, updatedAt: _updatedAt, ...input } = p;
  return input;
}

/** Creates a patch policy, or changes every setting of one (the API replaces the whole policy). */
export function PolicyForm({
  existing,
  groups,
  windows,
  onDone,
}: {
  existing?: Policy;
  groups: Group[];
  windows: MaintenanceWindow[];
  onDone: () => void;
}) {
  const { orgId } = useOrg();
  const client = useQueryClient();
  const [error, setError] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: (body: unknown) =>
      existing
        ? api("PUT", `/api/v1/orgs/${orgId}/patch-policies/${existing.id}`, body)
        : api("POST", `/api/v1/orgs/${orgId}/patch-policies`, body),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ["org", orgId, "patch-policies"] });
      onDone();
    },
    onError: (failure) => setError(errorText(failure)),
  });
  const id = existing ? `p-${existing.id}` : "p-new";
  const approval = existing?.approval ?? {};

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const text = (key: string) => String(form.get(key) ?? "").trim();
    const name = text("name");
    if (!name) return setError("Give the policy a name.");
    if (!text("groupId")) return setError("Choose the device group the policy is for.");
    const rules: Policy["approval"] = {};
    if (text("minSeverity")) rules.minSeverity = text("minSeverity");
    if (form.get("kev") === "on") rules.kev = true;
    if (names(text("approvePackages")).length) rules.packages = names(text("approvePackages"));
    if (form.get("allowMajor") === "on") rules.allowMajor = true;
    const hook = text("preUpdateHook");
    const services = names(text("healthServices"));
    const keptHealthHook = existing?.healthCheck?.hook ?? null;
    setError(null);
    save.mutate({
      name,
      groupId: text("groupId"),
      automatic: text("automatic"),
      approval: rules,
      hold: names(text("hold")),
      reboot: text("reboot"),
      maxRebootDeferrals: Number(text("maxRebootDeferrals") || 0),
      preUpdate: hook
        ? {
            hook,
            args: String(form.get("preUpdateArgs") ?? "")
              .split("\n")
              .map((a) => a.trim())
              .filter(Boolean),
            timeoutSeconds: Number(text("preUpdateTimeout") || 600),
          }
        : null,
      // The health check's own hook is kept as it is; the console edits the services it checks.
      healthCheck: services.length || keptHealthHook ? { services, hook: keptHealthHook } : null,
      rollbackOnFailure: form.get("rollbackOnFailure") === "on",
      windowId: text("windowId") || null,
      catchUpHours: Number(text("catchUpHours") || 0),
    });
  }

  return (
    <form onSubmit={submit} className="grid-form" noValidate aria-label={existing ? `Edit ${existing.name}` : "New patch policy"}>
      <label htmlFor={`${id}-name`}>Policy name</label>
      <input id={`${id}-name`} name="name" maxLength={200} defaultValue={existing?.name ?? ""} />
      <label htmlFor={`${id}-group`}>Device group</label>
      <select id={`${id}-group`} name="groupId" defaultValue={existing?.groupId ?? ""}>
        <option value="">choose a group</option>
        {groups.map((g) => (
          <option key={g.id} value={g.id}>
            {g.name}
          </option>
        ))}
      </select>
      <label htmlFor={`${id}-automatic`}>Installs by itself</label>
      <select id={`${id}-automatic`} name="automatic" defaultValue={existing?.automatic ?? "security"}>
        <option value="none">nothing</option>
        <option value="security">security updates</option>
        <option value="all">all updates</option>
        <option value="dist-upgrade">all updates (dist-upgrade)</option>
      </select>
      <fieldset>
        <legend>Also without approval</legend>
        <label htmlFor={`${id}-severity`}>Fixes of this severity or higher</label>
        <select id={`${id}-severity`} name="minSeverity" defaultValue={approval.minSeverity ?? ""}>
          <option value="">no rule by severity</option>
          <option value="critical">critical</option>
          <option value="high">high</option>
          <option value="medium">medium</option>
          <option value="low">low</option>
        </select>
        <label className="check">
          <input type="checkbox" name="kev" defaultChecked={approval.kev === true} />
          Fixes of known exploited vulnerabilities (KEV)
        </label>
        <label htmlFor={`${id}-approve-packages`}>These packages (names, * as a wildcard)</label>
        <input id={`${id}-approve-packages`} name="approvePackages" defaultValue={(approval.packages ?? []).join(", ")} />
        <label className="check">
          <input type="checkbox" name="allowMajor" defaultChecked={approval.allowMajor === true} />
          Including new major versions
        </label>
      </fieldset>
      <label htmlFor={`${id}-hold`}>Never update (held packages)</label>
      <input id={`${id}-hold`} name="hold" defaultValue={(existing?.hold ?? []).join(", ")} />
      <label htmlFor={`${id}-reboot`}>Reboot</label>
      <select id={`${id}-reboot`} name="reboot" defaultValue={existing?.reboot ?? "if_required"}>
        <option value="if_required">if an update requires it</option>
        <option value="never">never</option>
        <option value="always">always</option>
      </select>
      <label htmlFor={`${id}-deferrals`}>Reboot deferrals allowed</label>
      <input
        id={`${id}-deferrals`}
        name="maxRebootDeferrals"
        type="number"
        min={0}
        max={50}
        defaultValue={existing?.maxRebootDeferrals ?? 3}
      />
      <label htmlFor={`${id}-window`}>Maintenance window</label>
      <select id={`${id}-window`} name="windowId" defaultValue={existing?.windowId ?? ""}>
        <option value="">any time (no window)</option>
        {windows.map((w) => (
          <option key={w.id} value={w.id}>
            {w.name}
          </option>
        ))}
      </select>
      <label htmlFor={`${id}-catch-up`}>Catch up missed windows within (hours)</label>
      <input
        id={`${id}-catch-up`}
        name="catchUpHours"
        type="number"
        min={0}
        max={720}
        defaultValue={existing?.catchUpHours ?? 24}
      />
      <label htmlFor={`${id}-hook`}>Before updating, run this hook (empty: none)</label>
      <input id={`${id}-hook`} name="preUpdateHook" maxLength={100} defaultValue={existing?.preUpdate?.hook ?? ""} />
      <label htmlFor={`${id}-hook-args`}>The hook's arguments (one a line)</label>
      <textarea id={`${id}-hook-args`} name="preUpdateArgs" rows={2} defaultValue={(existing?.preUpdate?.args ?? []).join("\n")} />
      <label htmlFor={`${id}-hook-timeout`}>The hook's time limit (seconds)</label>
      <input
        id={`${id}-hook-timeout`}
        name="preUpdateTimeout"
        type="number"
        min={1}
        max={7200}
        defaultValue={existing?.preUpdate?.timeoutSeconds ?? 600}
      />
      <label htmlFor={`${id}-services`}>After updating, check these services are running</label>
      <input id={`${id}-services`} name="healthServices" defaultValue={(existing?.healthCheck?.services ?? []).join(", ")} />
      <label className="check">
        <input type="checkbox" name="rollbackOnFailure" defaultChecked={existing?.rollbackOnFailure ?? true} />
        Roll back when the check fails
      </label>
      <div className="row">
        <button type="submit" disabled={save.isPending}>
          Save policy
        </button>
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
