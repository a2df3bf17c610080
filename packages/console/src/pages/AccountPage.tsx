import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { api, errorText } from "../api";
import { ErrorNote, Loading, PageTitle, when } from "../components/ui";
import { useMe } from "../session";

interface SessionRow {
  id: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  ip: string | null;
  userAgent: string | null;
  current: boolean;
}

export function AccountPage() {
  const me = useMe();
  const client = useQueryClient();
  const sessions = useQuery({
    queryKey: ["me", "sessions"],
    queryFn: () => api<{ items: SessionRow[] }>("GET", "/api/v1/me/sessions"),
  });
  const revoke = useMutation({
    mutationFn: (id: string) => api("DELETE", `/api/v1/me/sessions/${id}`),
    onSuccess: () => client.invalidateQueries({ queryKey: ["me", "sessions"] }),
  });
  const [passwordMessage, setPasswordMessage] = useState<string | null>(null);
  const [passwordError, setPasswordError] = useState<string | null>(null);

  async function changePassword(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    setPasswordMessage(null);
    setPasswordError(null);
    if (form.get("newPassword") !== form.get("confirmPassword")) {
      setPasswordError("The two new passwords are not the same.");
      return;
    }
    try {
      const result = await api<{ revokedSessions: number }>("POST", "/api/v1/me/password", {
        currentPassword: String(form.get("currentPassword") ?? ""),
        newPassword: String(form.get("newPassword") ?? ""),
      });
      formElement.reset();
      setPasswordMessage(
        `Your password is changed. ${result.revokedSessions} other session${result.revokedSessions === 1 ? " was" : "s were"} signed out.`,
      );
      void client.invalidateQueries({ queryKey: ["me", "sessions"] });
    } catch (failure) {
      setPasswordError(errorText(failure));
    }
  }

  return (
    <>
      <PageTitle>My account</PageTitle>
      {me.data ? (
        <p>
          Signed in as {me.data.user.name} ({me.data.user.email}).
        </p>
      ) : null}
      <section className="card">
        <h2>My sessions</h2>
        {sessions.isPending ? <Loading what="sessions" /> : null}
        <ErrorNote error={sessions.error ?? revoke.error} />
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">Browsers signed in to your account</caption>
            <thead>
              <tr>
                <th scope="col">Browser</th>
                <th scope="col">Address</th>
                <th scope="col">Signed in</th>
                <th scope="col">Last active</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {sessions.data?.items.map((s) => (
                <tr key={s.id}>
                  <td>{s.userAgent ?? "unknown"}</td>
                  <td>{s.ip ?? "—"}</td>
                  <td>{when(s.createdAt)}</td>
                  <td>{when(s.lastSeenAt)}</td>
                  <td>
                    {s.current ? (
                      <span className="badge">this browser</span>
                    ) : (
                      <button type="button" onClick={() => revoke.mutate(s.id)}>
                        Sign out this session
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      <section className="card">
        <h2>Change password</h2>
        <form onSubmit={changePassword} noValidate>
          <label htmlFor="currentPassword">Current password</label>
          <input id="currentPassword" name="currentPassword" type="password" autoComplete="current-password" />
          <label htmlFor="newPassword">New password (at least 12 characters)</label>
          <input id="newPassword" name="newPassword" type="password" minLength={12} autoComplete="new-password" />
          <label htmlFor="confirmPassword">New password again</label>
          <input id="confirmPassword" name="confirmPassword" type="password" autoComplete="new-password" />
          <button type="submit">Change password</button>
        </form>
        {passwordMessage ? <p role="status">{passwordMessage}</p> : null}
        {passwordError ? (
          <p className="error" role="alert">
            {passwordError}
          </p>
        ) : null}
      </section>
    </>
  );
}
