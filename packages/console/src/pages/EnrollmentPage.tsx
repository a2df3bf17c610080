import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { api, errorText } from "../api";
import { day, ErrorNote, Loading, PageTitle, when } from "../components/ui";
import { useOrg } from "../session";
import type { EnrollmentToken, Group } from "../types";

interface AgentEnrollment {
  serverUrl: string;
  caPin: string | null;
}

/** The install commands of docs/agent.md, filled in with this server, its CA pin and the token. */
function commands(info: AgentEnrollment, token: string) {
  const trust = info.caPin ? `--ca-pin ${info.caPin}` : "--ca-file ca.crt";
  return {
    Linux: [
      `export PATCHPILOT_ENROLLMENT_TOKEN='${token}'`,
      `sudo -E node /opt/patchpilot-agent/dist/main.js enroll --server ${info.serverUrl} \\`,
      `  ${trust} --state-dir /var/lib/patchpilot-agent`,
      "sudo cp /opt/patchpilot-agent/service/patchpilot-agent.service /etc/systemd/system/",
      "sudo systemctl daemon-reload && sudo systemctl enable --now patchpilot-agent",
    ].join("\n"),
    Windows: [
      "# In PowerShell, as Administrator",
      `$env:PATCHPILOT_ENROLLMENT_TOKEN = '${token}'`,
      `node "C:\\Program Files\\PatchPilot\\Agent\\dist\\main.js" enroll --server ${info.serverUrl} ${trust}`,
      ".\\patchpilot-agent.exe install   # the WinSW service wrapper, see docs/agent.md",
      "Remove-Item Env:PATCHPILOT_ENROLLMENT_TOKEN",
    ].join("\n"),
    macOS: [
      `export PATCHPILOT_ENROLLMENT_TOKEN='${token}'`,
      `sudo -E /usr/local/bin/node /usr/local/patchpilot-agent/dist/main.js enroll --server ${info.serverUrl} \\`,
      `  ${trust}`,
      "sudo launchctl bootstrap system /Library/LaunchDaemons/com.patchpilot.agent.plist",
    ].join("\n"),
  };
}

function InstallCommands({ info, token }: { info: AgentEnrollment; token: string }) {
  const [os, setOs] = useState<"Linux" | "Windows" | "macOS">("Linux");
  const all = commands(info, token);
  return (
    <section className="card" aria-labelledby="install-title">
      <h2 id="install-title">Install the agent</h2>
      <p>
        This token is shown once. The agent checks the server against the CA pin{" "}
        <code className="pin">{info.caPin ?? "(this server uses a given certificate: copy its CA file)"}</code>.
      </p>
      <div role="tablist" aria-label="Operating system" className="tabs">
        {(["Linux", "Windows", "macOS"] as const).map((name) => (
          <button
            key={name}
            type="button"
            role="tab"
            id={`tab-${name}`}
            aria-selected={os === name}
            aria-controls="install-panel"
            onClick={() => setOs(name)}
          >
            {name}
          </button>
        ))}
      </div>
      <div id="install-panel" role="tabpanel" aria-labelledby={`tab-${os}`}>
        <pre tabIndex={0} aria-label={`${os} install commands`}>
          <code>{all[os]}</code>
        </pre>
        <button type="button" onClick={() => void navigator.clipboard?.writeText(all[os])}>
          Copy the {os} commands
        </button>
      </div>
    </section>
  );
}

export function EnrollmentPage() {
  const { orgId, can } = useOrg();
  const client = useQueryClient();
  const [created, setCreated] = useState<{ token: string; name: string } | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const tokens = useQuery({
    queryKey: ["org", orgId, "enrollment-tokens"],
    queryFn: () => api<{ items: EnrollmentToken[] }>("GET", `/api/v1/orgs/${orgId}/enrollment-tokens?limit=100`),
  });
  const info = useQuery({
    queryKey: ["org", orgId, "agent-enrollment"],
    queryFn: () => api<AgentEnrollment>("GET", `/api/v1/orgs/${orgId}/agent-enrollment`),
  });
  const groups = useQuery({
    queryKey: ["org", orgId, "groups"],
    queryFn: () => api<{ items: Group[] }>("GET", `/api/v1/orgs/${orgId}/device-groups`),
    enabled: can("devices.read"),
  });
  const create = useMutation({
    mutationFn: (body: Record<string, unknown>) =>
      api<{ token: string; enrollmentToken: EnrollmentToken }>("POST", `/api/v1/orgs/${orgId}/enrollment-tokens`, body),
    onSuccess: (answer) => {
      setCreated({ token: answer.token, name: answer.enrollmentToken.name });
      void client.invalidateQueries({ queryKey: ["org", orgId, "enrollment-tokens"] });
    },
    onError: (failure) => setFormError(errorText(failure)),
  });
  const revoke = useMutation({
    mutationFn: (id: string) => api("DELETE", `/api/v1/orgs/${orgId}/enrollment-tokens/${id}`),
    onSuccess: () => client.invalidateQueries({ queryKey: ["org", orgId, "enrollment-tokens"] }),
  });

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const name = String(form.get("name") ?? "").trim();
    if (!name) return setFormError("Give the token a name, such as the site or team it is for.");
    const body: Record<string, unknown> = { name };
    const maxUses = String(form.get("maxUses") ?? "");
    if (maxUses) body.maxUses = Number(maxUses);
    const expires = String(form.get("expiresAt") ?? "");
    if (expires) body.expiresAt = new Date(`${expires}T23:59:59Z`).toISOString();
    const groupId = String(form.get("groupId") ?? "");
    if (groupId) body.groupId = groupId;
    setFormError(null);
    create.mutate(body);
  }

  return (
    <>
      <PageTitle>Enrol devices</PageTitle>
      <p>
        Agents enrol with an organisation token and then trust only this server's own root certificate. Server:{" "}
        <code>{info.data?.serverUrl ?? "…"}</code>
      </p>
      {can("enrollment_tokens.manage") ? (
        <section className="card">
          <h2>New enrolment token</h2>
          <form onSubmit={submit} noValidate className="grid-form">
            <label htmlFor="token-name">Name</label>
            <input id="token-name" name="name" maxLength={100} placeholder="e.g. London office laptops" />
            <label htmlFor="token-uses">Maximum number of devices (optional)</label>
            <input id="token-uses" name="maxUses" type="number" min={1} max={100000} />
            <label htmlFor="token-expires">Expires on (optional)</label>
            <input id="token-expires" name="expiresAt" type="date" />
            <label htmlFor="token-group">Put new devices in group (optional)</label>
            <select id="token-group" name="groupId">
              <option value="">no group</option>
              {groups.data?.items.map((g) => (
                <option key={g.id} value={g.id}>
                  {g.name}
                </option>
              ))}
            </select>
            <button type="submit" disabled={create.isPending}>
              Create token
            </button>
          </form>
          {formError ? (
            <p className="error" role="alert">
              {formError}
            </p>
          ) : null}
        </section>
      ) : null}
      {created && info.data ? (
        <>
          <p role="status">
            Token “{created.name}” created: <code className="token">{created.token}</code>
          </p>
          <InstallCommands info={info.data} token={created.token} />
        </>
      ) : null}
      <section className="card">
        <h2>Tokens</h2>
        <ErrorNote error={tokens.error ?? revoke.error} />
        {tokens.isPending ? <Loading what="tokens" /> : null}
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Token</th>
                <th scope="col">State</th>
                <th scope="col">Devices enrolled</th>
                <th scope="col">Expires</th>
                <th scope="col">Last used</th>
                {can("enrollment_tokens.manage") ? (
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {tokens.data?.items.map((t) => (
                <tr key={t.id}>
                  <td>{t.name}</td>
                  <td>
                    <code>{t.hint}</code>
                  </td>
                  <td>{t.status}</td>
                  <td>
                    {t.uses}
                    {t.maxUses ? ` of ${t.maxUses}` : ""}
                  </td>
                  <td>{t.expiresAt ? day(t.expiresAt) : "never"}</td>
                  <td>{when(t.lastUsedAt)}</td>
                  {can("enrollment_tokens.manage") ? (
                    <td>
                      {t.status === "active" ? (
                        <button type="button" className="danger" onClick={() => revoke.mutate(t.id)}>
                          Revoke {t.name}
                        </button>
                      ) : null}
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </>
  );
}
