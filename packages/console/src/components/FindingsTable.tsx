import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { Link, useNavigate } from "react-router-dom";
import { api, errorText } from "../api";
import { useOrg } from "../session";
import type { Finding } from "../types";
import { day, Severity } from "./ui";

const JUSTIFICATIONS = [
  ["component_not_present", "the component is not present"],
  ["vulnerable_code_not_present", "the vulnerable code is not present"],
  ["vulnerable_code_not_in_execute_path", "the vulnerable code is never run"],
  ["vulnerable_code_cannot_be_controlled_by_adversary", "an attacker cannot reach the vulnerable code"],
  ["inline_mitigations_already_exist", "mitigations are already in place"],
] as const;

function inDays(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

/** Accept a risk (reason, expiry) or mark a finding a false positive (reason, justification). */
function DecisionForm({ finding, onDone }: { finding: Finding; onDone: () => void }) {
  const { orgId } = useOrg();
  const client = useQueryClient();
  const [kind, setKind] = useState<"accepted_risk" | "false_positive">("accepted_risk");
  const [error, setError] = useState<string | null>(null);
  const decide = useMutation({
    mutationFn: (body: Record<string, string>) => api("PATCH", `/api/v1/orgs/${orgId}/findings/${finding.id}`, body),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ["org", orgId] });
      onDone();
    },
    onError: (failure) => setError(errorText(failure)),
  });
  const id = `decision-${finding.id}`;

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const reason = String(form.get("reason") ?? "").trim();
    if (!reason) return setError("Write down why: the reason is kept in the audit log.");
    const body: Record<string, string> = { status: kind, reason };
    if (kind === "accepted_risk") {
      const until = String(form.get("expiresAt") ?? "");
      if (!until) return setError("Choose the date until which the risk is accepted.");
      body.expiresAt = new Date(`${until}T23:59:59Z`).toISOString();
    } else {
      body.justification = String(form.get("justification") ?? "component_not_present");
    }
    setError(null);
    decide.mutate(body);
  }

  return (
    <form className="decision" onSubmit={submit} aria-label={`Decide on ${finding.vulnerability.id}`}>
      <fieldset>
        <legend>Decision</legend>
        <label>
          <input
            type="radio"
            name="kind"
            checked={kind === "accepted_risk"}
            onChange={() => setKind("accepted_risk")}
          />
          Accept the risk
        </label>
        <label>
          <input
            type="radio"
            name="kind"
            checked={kind === "false_positive"}
            onChange={() => setKind("false_positive")}
          />
          False positive
        </label>
      </fieldset>
      <label htmlFor={`${id}-reason`}>Reason</label>
      <input id={`${id}-reason`} name="reason" maxLength={1000} required />
      {kind === "accepted_risk" ? (
        <>
          <label htmlFor={`${id}-expires`}>Accepted until</label>
          <input id={`${id}-expires`} name="expiresAt" type="date" min={inDays(1)} defaultValue={inDays(90)} />
        </>
      ) : (
        <>
          <label htmlFor={`${id}-justification`}>Why it does not apply</label>
          <select id={`${id}-justification`} name="justification">
            {JUSTIFICATIONS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </>
      )}
      <div className="row">
        <button type="submit" disabled={decide.isPending}>
          Save decision
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

/** The rollout form, prefilled with the fixes for these vulnerabilities. */
export function rolloutFixing(orgId: string, vulnerabilityIds: string[]): string {
  const fix = [...new Set(vulnerabilityIds)].sort().join(",");
  return `/orgs/${orgId}/rollouts?${new URLSearchParams({ fix }).toString()}`;
}

/**
 * Findings, with a decision form per open finding for those who may decide, and (where the page
 * asks for it) boxes to tick open findings and start a rollout that fixes them.
 */
export function FindingsTable({
  findings,
  show,
  selectable = false,
}: {
  findings: Finding[];
  show: "device" | "vulnerability";
  selectable?: boolean;
}) {
  const { orgId, can } = useOrg();
  const navigate = useNavigate();
  const [open, setOpen] = useState<string | null>(null);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const client = useQueryClient();
  const reopen = useMutation({
    mutationFn: (f: Finding) =>
      api("PATCH", `/api/v1/orgs/${orgId}/findings/${f.id}`, { status: "open", reason: "Reopened from the console" }),
    onSuccess: () => client.invalidateQueries({ queryKey: ["org", orgId] }),
  });
  const mayDecide = can("findings.decide");
  const maySelect = selectable && can("rollouts.manage");
  const ticked = findings.filter((f) => selected.has(f.id) && f.status === "open");
  const toggle = (id: string, on: boolean) => {
    const next = new Set(selected);
    if (on) next.add(id);
    else next.delete(id);
    setSelected(next);
  };
  return (
    <div className="table-wrap">
      {maySelect ? (
        <div className="row selection" aria-live="polite">
          <span>
            {ticked.length === 0
              ? "Tick open findings to fix them in a rollout."
              : `${ticked.length} finding${ticked.length === 1 ? "" : "s"} selected on ${new Set(ticked.map((f) => f.device.id)).size} device(s).`}
          </span>
          <button
            type="button"
            disabled={ticked.length === 0}
            onClick={() => navigate(rolloutFixing(orgId, ticked.map((f) => f.vulnerability.id)))}
          >
            Create rollout from selection
          </button>
        </div>
      ) : null}
      {reopen.error ? (
        <p className="error" role="alert">
          {errorText(reopen.error)}
        </p>
      ) : null}
      <table>
        <thead>
          <tr>
            {maySelect ? (
              <th scope="col">
                <span className="visually-hidden">Select</span>
              </th>
            ) : null}
            <th scope="col">{show === "device" ? "Device" : "Vulnerability"}</th>
            <th scope="col">Severity</th>
            <th scope="col">Package</th>
            <th scope="col">Installed</th>
            <th scope="col">Fixed in</th>
            <th scope="col">Status</th>
            <th scope="col">SLA due</th>
            {mayDecide ? (
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            ) : null}
          </tr>
        </thead>
        <tbody>
          {findings.map((f) => (
            <tr key={f.id}>
              {maySelect ? (
                <td>
                  {f.status === "open" ? (
                    <input
                      type="checkbox"
                      aria-label={`Select ${f.vulnerability.id} on ${f.device.hostname}`}
                      checked={selected.has(f.id)}
                      onChange={(event) => toggle(f.id, event.target.checked)}
                    />
                  ) : null}
                </td>
              ) : null}
              <td>
                {show === "device" ? (
                  <Link to={`/orgs/${orgId}/devices/${f.device.id}`}>{f.device.hostname}</Link>
                ) : (
                  <Link to={`/orgs/${orgId}/vulnerabilities/${encodeURIComponent(f.vulnerability.id)}`}>
                    {f.vulnerability.id}
                  </Link>
                )}
                {f.vulnerability.kev ? <span className="badge kev">KEV</span> : null}
              </td>
              <td>
                <Severity value={f.severity} />
              </td>
              <td>{f.package.name}</td>
              <td>{f.installedVersion}</td>
              <td>{f.fixedVersion ?? "no fix yet"}</td>
              <td>
                {f.status.replace("_", " ")}
                {f.suppression?.expiresAt ? ` until ${day(f.suppression.expiresAt)}` : ""}
              </td>
              <td className={f.overdue ? "overdue" : ""}>
                {day(f.slaDueAt)}
                {f.overdue ? " (overdue)" : ""}
              </td>
              {mayDecide ? (
                <td>
                  {f.status === "open" ? (
                    open === f.id ? (
                      <DecisionForm finding={f} onDone={() => setOpen(null)} />
                    ) : (
                      <button type="button" onClick={() => setOpen(f.id)}>
                        Decide…
                      </button>
                    )
                  ) : f.status !== "fixed" && f.suppression?.id ? (
                    <button type="button" className="secondary" onClick={() => reopen.mutate(f)}>
                      Reopen
                    </button>
                  ) : null}
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
