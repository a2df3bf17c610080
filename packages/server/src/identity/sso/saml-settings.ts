import type { Config } from "../../config/config.js";
import type { Database } from "../../db/database.js";
import { AppError } from "../../http/errors.js";
import { type RequestContext, scopeOf } from "../../http/route.js";
import { requirePlanFeature } from "../../organizations/plan-gate.js";
import { parseIdpMetadata } from "./saml-xml.js";
import { normalizeDomains, type SsoDefaultRole } from "./sso-policy.js";

export interface SamlSettingsInput {
  metadataXml: string;
  allowedDomains: string[];
  defaultRole: SsoDefaultRole;
  enabled: boolean;
  ssoRequired: boolean;
}

export interface SamlSettingsView {
  idpEntityId: string;
  idpSsoUrl: string;
  idpCertificates: number;
  allowedDomains: string[];
  defaultRole: string;
  enabled: boolean;
  ssoRequired: boolean;
  /** What to give the identity provider: our entity id (also where our metadata is), ACS and sign-in addresses. */
  spEntityId: string;
  acsUrl: string;
  signInUrl: string;
  updatedAt: string;
}

export function samlUrls(config: Config, organizationId: string) {
  const base = `/api/v1/auth/sso/${organizationId}/saml`;
  return {
    spEntityId: new URL(`${base}/metadata`, config.publicUrl).toString(),
    acsUrl: new URL(`${base}/acs`, config.publicUrl).toString(),
    signInUrl: new URL(`${base}/start`, config.publicUrl).toString(),
  };
}

export async function getSamlSettings(
  db: Database,
  config: Config,
  ctx: RequestContext,
): Promise<SamlSettingsView> {
  const { organizationId } = scopeOf(ctx);
  const row = await db.withOrganization(organizationId, ctx, (tx) =>
    tx.db.selectFrom("sso_saml_configs").selectAll().executeTakeFirst(),
  );
  if (!row) throw new AppError("sso.not_configured");
  return {
    idpEntityId: row.idp_entity_id,
    idpSsoUrl: row.idp_sso_url,
    idpCertificates: row.idp_certificates.length,
    allowedDomains: row.allowed_domains,
    defaultRole: row.default_role,
    enabled: row.enabled,
    ssoRequired: row.sso_required,
    ...samlUrls(config, organizationId),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** Imports the identity provider's metadata (Enterprise and up); malformed XML changes nothing. */
export async function putSamlSettings(
  db: Database,
  config: Config,
  ctx: RequestContext,
  input: SamlSettingsInput,
): Promise<SamlSettingsView> {
  const { organizationId } = scopeOf(ctx);
  const domains = normalizeDomains(input.allowedDomains);
  const metadata = parseIdpMetadata(input.metadataXml);
  const ssoUrl = URL.parse(metadata.ssoUrl);
  if (ssoUrl?.protocol !== "https:" || ssoUrl.username || ssoUrl.password) {
    throw new AppError("request.invalid", {
      field: "body/metadataXml",
      message: "The identity provider's single sign-on address must be an https:// URL without credentials.",
    });
  }
  await db.withOrganization(organizationId, ctx, async (tx) => {
    await requirePlanFeature(tx, "sso_saml");
    const values = {
      idp_entity_id: metadata.entityId,
      idp_sso_url: metadata.ssoUrl,
      idp_certificates: metadata.certificates,
      allowed_domains: domains,
      default_role: input.defaultRole,
      enabled: input.enabled,
      sso_required: input.ssoRequired,
      updated_at: new Date(),
    };
    await tx.db
      .insertInto("sso_saml_configs")
      .values(values)
      .onConflict((oc) => oc.column("organization_id").doUpdateSet(values))
      .execute();
    tx.audit({
      action: "sso.saml_configured",
      details: {
        idpEntityId: metadata.entityId,
        idpSsoUrl: metadata.ssoUrl,
        idpCertificates: metadata.certificates.length,
        allowedDomains: domains,
        defaultRole: input.defaultRole,
        enabled: input.enabled,
        ssoRequired: input.ssoRequired,
      },
    });
  });
  return getSamlSettings(db, config, ctx);
}

export async function deleteSamlSettings(db: Database, ctx: RequestContext): Promise<void> {
  const { organizationId } = scopeOf(ctx);
  await db.withOrganization(organizationId, ctx, async (tx) => {
    const removed = await tx.db.deleteFrom("sso_saml_configs").returning("idp_entity_id").executeTakeFirst();
    if (!removed) throw new AppError("sso.not_configured");
    tx.audit({ action: "sso.saml_removed", details: { idpEntityId: removed.idp_entity_id } });
  });
}
