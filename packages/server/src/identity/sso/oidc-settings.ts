import type { Config } from "../../config/config.js";
import type { Database } from "../../db/database.js";
import { AppError } from "../../http/errors.js";
import { type RequestContext, scopeOf } from "../../http/route.js";
import { requirePlanFeature } from "../../organizations/plan-gate.js";
import type { SecretBox } from "../../secrets/secret-box.js";
import { normalizeDomains, parseProviderUrl, type SsoDefaultRole } from "./sso-policy.js";

export interface OidcSettingsInput {
  issuer: string;
  clientId: string;
  /** Required the first time; omitted later, the sealed one is kept. */
  clientSecret?: string;
  allowedDomains: string[];
  defaultRole: SsoDefaultRole;
  enabled: boolean;
  ssoRequired: boolean;
}

export interface OidcSettingsView {
  issuer: string;
  clientId: string;
  hasClientSecret: boolean;
  allowedDomains: string[];
  defaultRole: string;
  enabled: boolean;
  ssoRequired: boolean;
  /** Register this at the identity provider as the client's redirect URI. */
  redirectUri: string;
  signInUrl: string;
  updatedAt: string;
}

/** The client secret's sealing context: it opens only as this organisation's OIDC secret. */
export const oidcSecretContext = (organizationId: string) => `sso-oidc-secret:${organizationId}`;

export function oidcUrls(config: Config, organizationId: string): { redirectUri: string; signInUrl: string } {
  const base = `/api/v1/auth/sso/${organizationId}/oidc`;
  return {
    redirectUri: new URL(`${base}/callback`, config.publicUrl).toString(),
    signInUrl: new URL(`${base}/start`, config.publicUrl).toString(),
  };
}

export async function getOidcSettings(
  db: Database,
  config: Config,
  ctx: RequestContext,
): Promise<OidcSettingsView> {
  const { organizationId } = scopeOf(ctx);
  const row = await db.withOrganization(organizationId, ctx, (tx) =>
    tx.db.selectFrom("sso_oidc_configs").selectAll().executeTakeFirst(),
  );
  if (!row) throw new AppError("sso.not_configured");
  return {
    issuer: row.issuer,
    clientId: row.client_id,
    hasClientSecret: true,
    allowedDomains: row.allowed_domains,
    defaultRole: row.default_role,
    enabled: row.enabled,
    ssoRequired: row.sso_required,
    ...oidcUrls(config, organizationId),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** Sets the organisation's OpenID Connect provider (Business and up); the client secret is sealed. */
export async function putOidcSettings(
  db: Database,
  config: Config,
  ctx: RequestContext,
  secrets: SecretBox,
  input: OidcSettingsInput,
): Promise<OidcSettingsView> {
  const { organizationId } = scopeOf(ctx);
  parseProviderUrl(input.issuer, "body/issuer");
  const issuer = input.issuer;
  const domains = normalizeDomains(input.allowedDomains);
  await db.withOrganization(organizationId, ctx, async (tx) => {
    await requirePlanFeature(tx, "sso_oidc");
    const existing = await tx.db
      .selectFrom("sso_oidc_configs")
      .select("sealed_client_secret")
      .forUpdate()
      .executeTakeFirst();
    const sealed =
      input.clientSecret !== undefined
        ? secrets.seal(input.clientSecret, oidcSecretContext(organizationId))
        : existing?.sealed_client_secret;
    if (sealed === undefined) {
      throw new AppError("request.invalid", {
        field: "body/clientSecret",
        message: "clientSecret is required when OpenID Connect is first set up.",
      });
    }
    const values = {
      issuer,
      client_id: input.clientId,
      sealed_client_secret: sealed,
      allowed_domains: domains,
      default_role: input.defaultRole,
      enabled: input.enabled,
      sso_required: input.ssoRequired,
      updated_at: new Date(),
    };
    await tx.db
      .insertInto("sso_oidc_configs")
      .values(values)
      .onConflict((oc) => oc.column("organization_id").doUpdateSet(values))
      .execute();
    tx.audit({
      action: "sso.oidc_configured",
      details: {
        issuer,
        clientId: input.clientId,
        clientSecret: input.clientSecret !== undefined ? "set" : "kept",
        allowedDomains: domains,
        defaultRole: input.defaultRole,
        enabled: input.enabled,
        ssoRequired: input.ssoRequired,
      },
    });
  });
  return getOidcSettings(db, config, ctx);
}

export async function deleteOidcSettings(db: Database, ctx: RequestContext): Promise<void> {
  const { organizationId } = scopeOf(ctx);
  await db.withOrganization(organizationId, ctx, async (tx) => {
    const removed = await tx.db.deleteFrom("sso_oidc_configs").returning("issuer").executeTakeFirst();
    if (!removed) throw new AppError("sso.not_configured");
    tx.audit({ action: "sso.oidc_removed", details: { issuer: removed.issuer } });
  });
}
