import { type FormEvent, useState } from "react";
import { useNavigate } from "react-router-dom";
import { api, errorText } from "../api";
import { useSignedIn } from "../session";
import type { Me } from "../types";

/**
 * A sign-in answer: the signed-in person, or (once the server asks for a second factor) a
 * challenge to answer at POST /api/v1/auth/second-factor.
 */
type SignInAnswer = Me | { secondFactorRequired: true; challenge: string };

function isChallenge(answer: SignInAnswer): answer is { secondFactorRequired: true; challenge: string } {
  return "secondFactorRequired" in answer && answer.secondFactorRequired === true;
}

export function SignInPage() {
  const signedIn = useSignedIn();
  const navigate = useNavigate();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [challenge, setChallenge] = useState<string | null>(null);

  function enter(me: Me) {
    signedIn(me);
    const first = me.organizations[0];
    navigate(first ? `/orgs/${first.id}/dashboard` : "/account", { replace: true });
  }

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      const answer = await api<SignInAnswer>("POST", "/api/v1/auth/sign-in", {
        email: String(form.get("email") ?? ""),
        password: String(form.get("password") ?? ""),
      });
      if (isChallenge(answer)) setChallenge(answer.challenge);
      else enter(answer);
    } catch (failure) {
      setError(errorText(failure));
    } finally {
      setBusy(false);
    }
  }

  async function submitCode(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      enter(await api<Me>("POST", "/api/v1/auth/second-factor", { challenge, code: String(form.get("code") ?? "") }));
    } catch (failure) {
      setError(errorText(failure));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="card narrow">
      <h1>Sign in to PatchPilot</h1>
      {challenge ? (
        <form onSubmit={submitCode} noValidate>
          <label htmlFor="code">Code from your authenticator app</label>
          <input id="code" name="code" inputMode="numeric" autoComplete="one-time-code" required />
          <button type="submit" disabled={busy}>
            Verify
          </button>
        </form>
      ) : (
        <form onSubmit={submit} noValidate>
          <label htmlFor="email">Email address</label>
          <input id="email" name="email" type="email" required autoComplete="username" />
          <label htmlFor="password">Password</label>
          <input id="password" name="password" type="password" required autoComplete="current-password" />
          <button type="submit" disabled={busy}>
            Sign in
          </button>
        </form>
      )}
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
    </main>
  );
}
