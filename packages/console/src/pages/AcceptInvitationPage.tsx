import { type FormEvent, useState } from "react";
import { api, errorText } from "../api";
import { useMe } from "../session";

export function AcceptInvitationPage() {
  const me = useMe();
  const [token] = useState(() => decodeURIComponent(window.location.hash.slice(1)));
  const [error, setError] = useState<string | null>(
    token ? null : "This page needs the invitation link you were sent.",
  );
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);
  const signedIn = Boolean(me.data);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const body: Record<string, string> = { token };
    const name = String(form.get("name") ?? "");
    const password = String(form.get("password") ?? "");
    if (name) body.name = name;
    if (password) body.password = password;
    setBusy(true);
    setError(null);
    try {
      await api("POST", "/api/v1/invitations/accept", body);
      window.history.replaceState(null, "", "/invitations/accept");
      setDone(true);
    } catch (failure) {
      setError(errorText(failure));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="card narrow">
      <h1>Join an organisation</h1>
      {done ? (
        <p role="status">
          You have joined the organisation. <a href="/">{signedIn ? "Open the console" : "Sign in to continue"}</a>.
        </p>
      ) : (
        <>
          <p>
            {signedIn
              ? `You are signed in as ${me.data?.user.email}; accepting adds this organisation to your account.`
              : "New to PatchPilot? Choose your name and a password. If you already have an account, sign in first, then open this link again."}
          </p>
          <form onSubmit={submit} noValidate>
            {signedIn ? null : (
              <>
                <label htmlFor="name">Your name</label>
                <input id="name" name="name" maxLength={200} autoComplete="name" />
                <label htmlFor="password">Choose a password (at least 12 characters)</label>
                <input id="password" name="password" type="password" minLength={12} autoComplete="new-password" />
              </>
            )}
            <button type="submit" disabled={busy || !token}>
              Accept invitation
            </button>
          </form>
        </>
      )}
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
    </main>
  );
}
