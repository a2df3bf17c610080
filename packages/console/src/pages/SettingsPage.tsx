import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { api, errorText } from "../api";
import { day, ErrorNote, PageTitle } from "../components/ui";
import { useOrg } from "../session";

interface Organization {
  id: string;
  name: string;
  plan: string;
  createdAt: string;
}
interface Sla {
  slaDays: { critical: number; high: number; medium: number; low: number };
}

export function SettingsPage() {
  const { orgId, can } = useOrg();
  const client = useQueryClient();
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const org = useQuery({
    queryKey: ["org", orgId, "organization"],
    queryFn: () => api<Organization>("GET", `/api/v1/orgs/${orgId}`),
  });
  const sla = useQuery({
    queryKey: ["org", orgId, "sla"],
    queryFn: () => api<Sla>("GET", `/api/v1/orgs/${orgId}/vulnerability-settings`),
  });
  const saved = (text: string) => () => {
    setError(null);
    setMessage(text);
    void client.invalidateQueries({ queryKey: ["org", orgId] });
    void client.invalidateQueries({ queryKey: ["me"] });
  };
  const rename = useMutation({
    mutationFn: (name: string) => api("PATCH", `/api/v1/orgs/${orgId}`, { name }),
    onSuccess: saved("The organisation's name is saved."),
    onError: (failure) => setError(errorText(failure)),
  });
  const saveSla = useMutation({
    mutationFn: (slaDays: Sla["slaDays"]) => api("PUT", `/api/v1/orgs/${orgId}/vulnerability-settings`, { slaDays }),
    onSuccess: saved("The SLA days are saved; due dates follow them."),
    onError: (failure) => setError(errorText(failure)),
  });
  const manage = can("organization.update");

  function submitName(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    rename.mutate(String(new FormData(event.currentTarget).get("orgName") ?? "").trim());
  }
  function submitSla(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const days = (key: string) => Number(form.get(key) ?? 0);
    saveSla.mutate({ critical: days("critical"), high: days("high"), medium: days("medium"), low: days("low") });
  }

  return (
    <>
      <PageTitle>Organisation</PageTitle>
      <ErrorNote error={org.error ?? sla.error} />
      {message ? <p role="status">{message}</p> : null}
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      {org.data ? (
        <section className="card">
          <h2>{org.data.name}</h2>
          <p>
            Plan: {org.data.plan}. Created {day(org.data.createdAt)}.
          </p>
          {manage ? (
            <form onSubmit={submitName} className="filters">
              <label>
                Organisation name
                <input name="orgName" defaultValue={org.data.name} maxLength={200} />
              </label>
              <button type="submit">Rename</button>
            </form>
          ) : null}
        </section>
      ) : null}
      {sla.data ? (
        <section className="card">
          <h2>Remediation SLA (days to fix)</h2>
          <form onSubmit={submitSla} className="filters">
            {(["critical", "high", "medium", "low"] as const).map((key) => (
              <label key={key}>
                {key}
                <input
                  name={key}
                  type="number"
                  min={1}
                  max={3650}
                  defaultValue={sla.data.slaDays[key]}
                  disabled={!can("organization.update")}
                />
              </label>
            ))}
            {manage ? <button type="submit">Save SLA</button> : null}
          </form>
        </section>
      ) : null}
    </>
  );
}
