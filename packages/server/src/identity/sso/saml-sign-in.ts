import { randomBytes } from "node:crypto";
import {
  type CacheProvider,
  generateServiceProviderMetadata,
  SAML,
  ValidateInResponseTo,
} from "@node-saml/node-saml";
import type { Config } from "../../config/config.js";
import type { Database } from "../../db/database.js";
import type { AuditContext } from "../../db/unit-of-work.js";
import { AppError } from "../../http/errors.js";
import type { SignedIn } from "../sign-in.js";
import { describeFailure } from "./oidc-sign-in.js";
import { samlUrls } from "./saml-settings.js";
import { attr, child, parseXml, text } from "./saml-xml.js";
import { beginFlow, newBrowserBinding, peekFlow, SSO_FLOW_TTL_MS } from "./sso-flows.js";
import { enabledSamlSettings, throttleSsoStart } from "./sso-settings-source.js";
import { finishSsoSignIn, type VerificationOutcome } from "./sso-sign-in.js";

export interface SamlDeps {
  db: Database;
  config: Config;
}

type SamlRow = Awaited<ReturnType<typeof enabledSamlSettings>>;

const EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
/** Assertions older than this are refused even if the provider allowed longer; replay ids are kept as long. */
const MAX_ASSERTION_AGE_MS = 60 * 60 * 1000;
const CLOCK_SKEW_MS = 60 * 1000;

/**
 * node-saml checks the answer's InResponseTo against this cache: here, the sign-ins this
 * organisation started and has not finished (the same table as OIDC's state, shared by every
 * server process). Using it up happens in finishSsoSignIn, with the rest of the sign-in.
 */
function pendingRequests(db: Database, context: AuditContext, organizationId: string): CacheProvider {
  return {
    saveAsync: async () => null,
    // node-saml wants the request's creation time; the flow's own expiry is checked when it is used.
    getAsync: async (key) =>
      (
        await db.withOrganization(organizationId, context, (tx) => peekFlow(tx, "saml", key))
      )?.createdAt.toISOString() ?? null,
    removeAsync: async () => null,
  };
}

function samlFor(
  deps: SamlDeps,
  context: AuditContext,
  row: SamlRow,
  organizationId: string,
  requestId?: string,
) {
  const urls = samlUrls(deps.config, organizationId);
  return new SAML({
    entryPoint: row.idp_sso_url,
    issuer: urls.spEntityId,
    callbackUrl: urls.acsUrl,
    audience: urls.spEntityId,
    idpCert: row.idp_certificates,
    idpIssuer: row.idp_entity_id,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: false,
    validateInResponseTo: ValidateInResponseTo.always,
    cacheProvider: pendingRequests(deps.db, context, organizationId),
    acceptedClockSkewMs: CLOCK_SKEW_MS,
    maxAssertionAgeMs: MAX_ASSERTION_AGE_MS,
    requestIdExpirationPeriodMs: SSO_FLOW_TTL_MS,
    identifierFormat: EMAIL_FORMAT,
    disableRequestedAuthnContext: true,
    signatureAlgorithm: "sha256",
    digestAlgorithm: "sha256",
    ...(requestId ? { generateUniqueId: () => requestId } : {}),
  });
}

/** Our service provider metadata, to give the identity provider (before or after its own is imported). */
export function serviceProviderMetadata(config: Config, organizationId: string): string {
  const urls = samlUrls(config, organizationId);
  return generateServiceProviderMetadata({
    issuer: urls.spEntityId,
    callbackUrl: urls.acsUrl,
    identifierFormat: EMAIL_FORMAT,
    wantAssertionsSigned: true,
  });
}

/** SP-initiated sign-in: an AuthnRequest (HTTP-Redirect) whose id is kept as the sign-in's state. */
export async function startSamlSignIn(
  deps: SamlDeps,
  context: AuditContext,
  organizationId: string,
): Promise<{ redirectTo: string; browser: string }> {
  await throttleSsoStart(deps.db, context.ip, "saml");
  const row = await enabledSamlSettings(deps.db, context, organizationId);
  const requestId = `_${randomBytes(20).toString("hex")}`;
  const redirectTo = await samlFor(deps, context, row, organizationId, requestId).getAuthorizeUrlAsync(
    "",
    undefined,
    {},
  );
  const browser = newBrowserBinding();
  await deps.db.withOrganization(organizationId, context, async (tx) => {
    await beginFlow(tx, { protocol: "saml", state: requestId, browser, sealedSecrets: null });
    tx.audit({ action: "sso.sign_in_started", details: { method: "saml" } });
  });
  return { redirectTo, browser };
}

/**
 * The assertion consumer: node-saml checks the assertion's signature (required) against the
 * imported certificates, audience, NotBefore/NotOnOrAfter and InResponseTo; we check issuer,
 * recipient and destination, then finishSsoSignIn refuses a replayed assertion id and ends the
 * sign-in like OIDC's. Every outcome is audited.
 */
export async function finishSamlSignIn(
  deps: SamlDeps,
  context: AuditContext,
  organizationId: string,
  samlResponse: string,
  browser: string | undefined,
): Promise<SignedIn> {
  const row = await enabledSamlSettings(deps.db, context, organizationId);
  // Which sign-in this answers, from the (unsigned) envelope; node-saml then requires the signed
  // assertion's SubjectConfirmationData to name the same request.
  const envelope = parseXml(Buffer.from(samlResponse, "base64").toString("utf8"));
  const requestId = attr(child(envelope, "Response"), "InResponseTo") ?? "";
  let outcome: VerificationOutcome;
  if (!envelope) {
    outcome = { ok: false, code: "sso.response_invalid", reason: "malformed_xml" };
  } else {
    outcome = await verifyAssertion(deps, context, row, organizationId, samlResponse);
  }
  return finishSsoSignIn(deps.db, context, {
    protocol: "saml",
    policy: { organizationId, allowedDomains: row.allowed_domains, defaultRole: row.default_role },
    state: requestId,
    browser,
    outcome,
  });
}

async function verifyAssertion(
  deps: SamlDeps,
  context: AuditContext,
  row: SamlRow,
  organizationId: string,
  samlResponse: string,
): Promise<VerificationOutcome> {
  const { acsUrl } = samlUrls(deps.config, organizationId);
  try {
    const { profile } = await samlFor(deps, context, row, organizationId).validatePostResponseAsync({
      SAMLResponse: samlResponse,
    });
    if (!profile) return { ok: false, code: "sso.response_invalid", reason: "no_assertion" };
    // Only the verified assertion's own XML is read from here on.
    const assertion = child(parseXml(profile.getAssertionXml?.() ?? ""), "Assertion");
    const response = child(parseXml(profile.getSamlResponseXml?.() ?? ""), "Response");
    const id = attr(assertion, "ID");
    if (!assertion || !id) return { ok: false, code: "sso.response_invalid", reason: "no_assertion_id" };
    if (text(child(assertion, "Issuer")) !== row.idp_entity_id) {
      return { ok: false, code: "sso.response_invalid", reason: "wrong_issuer" };
    }
    const destination = attr(response, "Destination");
    if (destination !== null && destination !== acsUrl) {
      return { ok: false, code: "sso.response_invalid", reason: "wrong_destination" };
    }
    const confirmation = child(
      child(child(assertion, "Subject"), "SubjectConfirmation"),
      "SubjectConfirmationData",
    );
    if (attr(confirmation, "Recipient") !== acsUrl) {
      return { ok: false, code: "sso.response_invalid", reason: "wrong_recipient" };
    }
    const email =
      typeof profile.email === "string"
        ? profile.email
        : profile.nameIDFormat === EMAIL_FORMAT
          ? profile.nameID
          : null;
    if (!email) return { ok: false, code: "sso.response_invalid", reason: "no_email" };
    const notOnOrAfter = Date.parse(attr(child(assertion, "Conditions"), "NotOnOrAfter") ?? "");
    const latest = Date.now() + MAX_ASSERTION_AGE_MS;
    const expiresAt = new Date(
      (Number.isFinite(notOnOrAfter) ? Math.min(notOnOrAfter, latest) : latest) + CLOCK_SKEW_MS,
    );
    const name = typeof profile.displayName === "string" ? profile.displayName : null;
    // The provider's directory vouches for the address it asserts; the domain binding still applies.
    return { ok: true, identity: { email, emailVerified: true, name }, assertion: { id, expiresAt } };
  } catch (error) {
    return { ok: false, code: "sso.response_invalid", reason: describeFailure(error) };
  }
}

export function assertSamlResponseShape(value: string): void {
  if (!/^[A-Za-z0-9+/=\r\n]+$/.test(value)) {
    throw new AppError("request.invalid", {
      field: "body/SAMLResponse",
      message: "SAMLResponse is not base64.",
    });
  }
}
