import * as client from "openid-client";
import type { Config } from "../../config/config.js";
import type { Database } from "../../db/database.js";
import type { AuditContext } from "../../db/unit-of-work.js";
import { AppError } from "../../http/errors.js";
import type { SecretBox } from "../../secrets/secret-box.js";
import type { SignedIn } from "../sign-in.js";
import { oidcSecretContext, oidcUrls } from "./oidc-settings.js";
import { beginFlow, newBrowserBinding, peekFlow } from "./sso-flows.js";
import { enabledOidcSettings, throttleSsoStart } from "./sso-settings-source.js";
import { finishSsoSignIn, type VerificationOutcome } from "./sso-sign-in.js";

export interface OidcDeps {
  db: Database;
  config: Config;
  secrets: SecretBox;
  /** How the server reaches identity providers (tests: one that trusts their test CA). */
  fetch?: client.CustomFetch;
}

type OidcRow = Awaited<ReturnType<typeof enabledOidcSettings>>;

const flowContext = (organizationId: string) => `sso-oidc-flow:${organizationId}`;

/** Discovery at the issuer; ID token signatures are checked too (openid-client leaves them to TLS by default). */
async function discover(deps: OidcDeps, row: OidcRow, organizationId: string): Promise<client.Configuration> {
  const secret = deps.secrets.open(row.sealed_client_secret, oidcSecretContext(organizationId));
  const configuration = await client.discovery(
    new URL(row.issuer),
    row.client_id,
    undefined,
    client.ClientSecretBasic(secret),
    { timeout: 10, ...(deps.fetch ? { [client.customFetch]: deps.fetch } : {}) },
  );
  client.enableNonRepudiationChecks(configuration);
  return configuration;
}

/**
 * Sends the browser to the identity provider: authorisation code flow with PKCE; the state, nonce
 * and code verifier stay on the server (verifier and nonce sealed), bound to this browser's cookie.
 */
export async function startOidcSignIn(
  deps: OidcDeps,
  context: AuditContext,
  organizationId: string,
): Promise<{ redirectTo: string; browser: string }> {
  await throttleSsoStart(deps.db, context.ip, "oidc");
  const row = await enabledOidcSettings(deps.db, context, organizationId);
  let configuration: client.Configuration;
  try {
    configuration = await discover(deps, row, organizationId);
  } catch {
    throw new AppError("sso.provider_unavailable");
  }
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const redirectTo = client.buildAuthorizationUrl(configuration, {
    redirect_uri: oidcUrls(deps.config, organizationId).redirectUri,
    scope: "openid email profile",
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    nonce,
  });
  const browser = newBrowserBinding();
  const sealedSecrets = deps.secrets.seal(JSON.stringify({ verifier, nonce }), flowContext(organizationId));
  await deps.db.withOrganization(organizationId, context, async (tx) => {
    await beginFlow(tx, { protocol: "oidc", state, browser, sealedSecrets });
    tx.audit({ action: "sso.sign_in_started", details: { method: "oidc" } });
  });
  return { redirectTo: redirectTo.href, browser };
}

export interface OidcCallbackQuery {
  state: string;
  code?: string;
  iss?: string;
  session_state?: string;
  error?: string;
  error_description?: string;
}

/**
 * The identity provider's answer: the code is exchanged and the ID token checked by openid-client
 * (signature against the issuer's keys, issuer, audience, expiry, nonce, PKCE), then the sign-in
 * ends like any other (finishSsoSignIn), audited whatever the outcome.
 */
export async function finishOidcSignIn(
  deps: OidcDeps,
  context: AuditContext,
  organizationId: string,
  query: OidcCallbackQuery,
  browser: string | undefined,
): Promise<SignedIn> {
  const row = await enabledOidcSettings(deps.db, context, organizationId);
  const pending = await deps.db.withOrganization(organizationId, context, (tx) =>
    peekFlow(tx, "oidc", query.state),
  );
  let outcome: VerificationOutcome;
  if (!pending?.sealedSecrets) {
    // The state is unknown or used: finishSsoSignIn names which and records it.
    outcome = { ok: false, code: "sso.flow_invalid", reason: "state" };
  } else if (query.error !== undefined) {
    outcome = {
      ok: false,
      code: "sso.response_invalid",
      reason: `provider_error: ${query.error.slice(0, 100)}`,
    };
  } else {
    outcome = await verifyAnswer(deps, row, organizationId, query, pending.sealedSecrets);
  }
  return finishSsoSignIn(deps.db, context, {
    protocol: "oidc",
    policy: { organizationId, allowedDomains: row.allowed_domains, defaultRole: row.default_role },
    state: query.state,
    browser,
    outcome,
  });
}

async function verifyAnswer(
  deps: OidcDeps,
  row: OidcRow,
  organizationId: string,
  query: OidcCallbackQuery,
  sealedSecrets: string,
): Promise<VerificationOutcome> {
  try {
    const { verifier, nonce } = JSON.parse(deps.secrets.open(sealedSecrets, flowContext(organizationId))) as {
      verifier: string;
      nonce: string;
    };
    const configuration = await discover(deps, row, organizationId);
    const current = new URL(oidcUrls(deps.config, organizationId).redirectUri);
    for (const [name, value] of Object.entries(query)) {
      if (typeof value === "string") current.searchParams.set(name, value);
    }
    const tokens = await client.authorizationCodeGrant(configuration, current, {
      pkceCodeVerifier: verifier,
      expectedState: query.state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    const idToken = tokens.claims();
    if (!idToken) return { ok: false, code: "sso.response_invalid", reason: "no_id_token" };
    // Providers that keep the ID token small give the email at the userinfo endpoint, for the
    // same subject (openid-client checks that it is).
    const claims =
      typeof idToken.email === "string"
        ? idToken
        : await client.fetchUserInfo(configuration, tokens.access_token, idToken.sub);
    if (typeof claims.email !== "string") {
      return { ok: false, code: "sso.response_invalid", reason: "no_email_claim" };
    }
    return {
      ok: true,
      identity: {
        email: claims.email,
        emailVerified: claims.email_verified === true,
        name: typeof claims.name === "string" ? claims.name : null,
      },
    };
  } catch (error) {
    return { ok: false, code: "sso.response_invalid", reason: describeFailure(error) };
  }
}

/** What went wrong, for the audit row: the library's error code and sentence, never a token. */
export function describeFailure(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 3 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    parts.push(`${typeof code === "string" ? code : current.name}: ${current.message}`);
    current = current.cause;
  }
  return parts.length > 0 ? parts.join(" <- ").slice(0, 300) : "unknown";
}
