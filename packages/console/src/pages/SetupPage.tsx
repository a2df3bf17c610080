import { type FormEvent, useState } from "react";
import { useNavigate } from "react-router-dom";
import { api, errorText } from "../api";
import { useSignedIn } from "../session";
import type { Me } from "../types";

export function SetupPage() {
  const navigate = useNavigate();
  const signedIn = useSignedIn();
  const [token] = useState(() => decodeURIComponent(window.location.hash.slice(1)));
  const [error, setError] = useState<string | null>(
    token ? null : "This page needs the setup link printed by the server when it started.",
  );
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      await api("POST", "/api/v1/setup", {
        setupToken: token,
        organizationName: String(form.get("organizationName") ?? ""),
        name: String(form.get("name") ?? ""),
        email: String(form.get("email") ?? ""),
        password: String(form.get("password") ?? ""),
      });
      // The setup answer signs the new Owner in; the token leaves the address bar.
      window.history.replaceState(null, "", "/setup");
      const me = await api<Me>("GET", "/api/v1/me");
      signedIn(me);
      const first = me.organizations[0];
      navigate(first ? `/orgs/${first.id}/enrolment` : "/", { replace: true });
    } catch (failure) {
      setError(errorText(failure));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="card narrow">
      <h1>Set up PatchPilot</h1>
      <p>Create your organisation and its first Owner. This link works once.</p>
      <form onSubmit={submit} noValidate>
        <label htmlFor="organizationName">Organisation name</label>
        <input id="organizationName" name="organizationName" required maxLength={200} autoComplete="organization" />
        <label htmlFor="name">Your name</label>
        <input id="name" name="name" required maxLength={200} autoComplete="name" />
        <label htmlFor="email">Email address</label>
        <input id="email" name="email" type="email" required maxLength={254} autoComplete="email" />
        <label htmlFor="password">Password (at least 12 characters)</label>
        <input id="password" name="password" type="password" required minLength={12} autoComplete="new-password" />
        <button type="submit" disabled={busy || !token}>
          Create organisation
        </button>
      </form>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
    </main>
  );
}
