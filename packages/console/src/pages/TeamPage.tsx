import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { api, errorText } from "../api";
import { day, ErrorNote, Loading, PageTitle, when } from "../components/ui";
import { useMe, useOrg } from "../session";
import type { Invitation, Member, Page } from "../types";

const ROLES = ["owner", "admin", "operator", "auditor"] as const;

export function TeamPage() {
  const { orgId, can } = useOrg();
  const me = useMe();
  const client = useQueryClient();
  const [invited, setInvited] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const members = useQuery({
    queryKey: ["org", orgId, "users"],
    queryFn: () => api<Page<Member>>("GET", `/api/v1/orgs/${orgId}/users?limit=100`),
  });
  const invitations = useQuery({
    queryKey: ["org", orgId, "invitations"],
    queryFn: () => api<Page<Invitation>>("GET", `/api/v1/orgs/${orgId}/invitations?limit=100`),
    enabled: can("users.invite"),
  });
  const refresh = () => client.invalidateQueries({ queryKey: ["org", orgId] });
  const onError = (failure: unknown) => setError(errorText(failure));
  const invite = useMutation({
    mutationFn: (body: { email: string; role: string }) =>
      api<{ acceptUrl: string }>("POST", `/api/v1/orgs/${orgId}/invitations`, body),
    onSuccess: (answer) => {
      setInvited(answer.acceptUrl);
      void refresh();
    },
    onError,
  });
  const changeRole = useMutation({
    mutationFn: ({ id, role }: { id: string; role: string }) =>
      api("PATCH", `/api/v1/orgs/${orgId}/users/${id}`, { role }),
    onSuccess: refresh,
    onError,
  });
  const remove = useMutation({
    mutationFn: (id: string) => api("DELETE", `/api/v1/orgs/${orgId}/users/${id}`),
    onSuccess: refresh,
    onError,
  });
  const withdraw = useMutation({
    mutationFn: (id: string) => api("DELETE", `/api/v1/orgs/${orgId}/invitations/${id}`),
    onSuccess: refresh,
    onError,
  });

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const email = String(form.get("email") ?? "").trim();
    if (!email.includes("@")) return setError("Enter the email address of the person to invite.");
    setError(null);
    invite.mutate({ email, role: String(form.get("role") ?? "operator") });
  }

  return (
    <>
      <PageTitle>Team</PageTitle>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      <section className="card">
        <h2>Members</h2>
        <ErrorNote error={members.error} />
        {members.isPending ? <Loading what="members" /> : null}
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Joined</th>
                <th scope="col">Last sign-in</th>
                {can("users.remove") ? (
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {members.data?.items.map((m) => (
                <tr key={m.id}>
                  <td>{m.name}</td>
                  <td>{m.email}</td>
                  <td>
                    {can("users.update_role") && m.id !== me.data?.user.id ? (
                      <label>
                        <span className="visually-hidden">Role of {m.name}</span>
                        <select value={m.role} onChange={(event) => changeRole.mutate({ id: m.id, role: event.target.value })}>
                          {ROLES.map((r) => (
                            <option key={r} value={r}>
                              {r}
                            </option>
                          ))}
                        </select>
                      </label>
                    ) : (
                      m.role
                    )}
                  </td>
                  <td>{day(m.joinedAt)}</td>
                  <td>{when(m.lastLoginAt)}</td>
                  {can("users.remove") ? (
                    <td>
                      {m.id !== me.data?.user.id ? (
                        <button type="button" className="danger" onClick={() => remove.mutate(m.id)}>
                          Remove {m.name}
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
      {can("users.invite") ? (
        <section className="card">
          <h2>Invitations</h2>
          <form onSubmit={submit} className="filters" noValidate aria-label="Invite a person">
            <label>
              Email address
              <input name="email" type="email" maxLength={254} autoComplete="off" />
            </label>
            <label>
              Role
              <select name="role" defaultValue="operator">
                {ROLES.map((r) => (
                  <option key={r} value={r}>
                    {r}
                  </option>
                ))}
              </select>
            </label>
            <button type="submit" disabled={invite.isPending}>
              Invite
            </button>
          </form>
          {invited ? (
            <p role="status">
              Invitation created. Send this link to the person (it is shown once): <code className="token">{invited}</code>
            </p>
          ) : null}
          <ul>
            {invitations.data?.items
              .filter((i) => i.status === "pending")
              .map((i) => (
                <li key={i.id}>
                  {i.email} as {i.role}, until {day(i.expiresAt)}{" "}
                  <button type="button" className="secondary" onClick={() => withdraw.mutate(i.id)}>
                    Withdraw invitation for {i.email}
                  </button>
                </li>
              ))}
          </ul>
        </section>
      ) : null}
    </>
  );
}
