import { X509Certificate } from "node:crypto";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { AppError } from "../../http/errors.js";

type Node = Record<string, unknown>;

const REDIRECT_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";

/** Namespace prefixes dropped, attributes as `@name`, no entity expansion (no DOCTYPE is accepted at all). */
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  removeNSPrefix: true,
  processEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
});

/** Parses XML from outside (metadata, SAML messages); null when it is not well-formed or declares a DOCTYPE. */
export function parseXml(xml: string): Node | null {
  if (/<!DOCTYPE/i.test(xml)) return null;
  if (XMLValidator.validate(xml) !== true) return null;
  const parsed: unknown = parser.parse(xml);
  return isNode(parsed) ? parsed : null;
}

function isNode(value: unknown): value is Node {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function children(node: unknown, name: string): Node[] {
  if (!isNode(node)) return [];
  const value = node[name];
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return list.map((v) => (isNode(v) ? v : { "#text": v }));
}

export function child(node: unknown, name: string): Node | null {
  return children(node, name)[0] ?? null;
}

export function attr(node: Node | null, name: string): string | null {
  const value = node?.[`@${name}`];
  return typeof value === "string" ? value : null;
}

export function text(node: Node | null): string | null {
  const value = node?.["#text"];
  return typeof value === "string" ? value : typeof value === "number" ? String(value) : null;
}

export interface IdpMetadata {
  entityId: string;
  ssoUrl: string;
  /** PEM signing certificates. */
  certificates: string[];
}

function invalid(message: string): AppError {
  return new AppError("request.invalid", { field: "body/metadataXml", message });
}

/**
 * What SAML sign-in needs from an identity provider's metadata: its entity id, its single sign-on
 * address for the HTTP-Redirect binding, and its signing certificates (each must parse).
 */
export function parseIdpMetadata(xml: string): IdpMetadata {
  const doc = parseXml(xml);
  if (!doc) throw invalid("metadataXml is not well-formed XML (or declares a DOCTYPE, which is refused).");
  const entity =
    child(doc, "EntityDescriptor") ?? child(child(doc, "EntitiesDescriptor"), "EntityDescriptor");
  const entityId = attr(entity, "entityID");
  const idp = child(entity, "IDPSSODescriptor");
  if (!entity || !entityId || !idp) {
    throw invalid("metadataXml has no EntityDescriptor with an entityID and an IDPSSODescriptor.");
  }
  const sso = children(idp, "SingleSignOnService").find((s) => attr(s, "Binding") === REDIRECT_BINDING);
  const ssoUrl = attr(sso ?? null, "Location");
  if (!ssoUrl) throw invalid("metadataXml names no SingleSignOnService for the HTTP-Redirect binding.");
  const certificates: string[] = [];
  for (const key of children(idp, "KeyDescriptor")) {
    const use = attr(key, "use");
    if (use !== null && use !== "signing") continue;
    for (const data of children(child(key, "KeyInfo"), "X509Data")) {
      for (const cert of children(data, "X509Certificate")) {
        const body = (text(cert) ?? "").replace(/\s+/g, "");
        const pem = `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)?.join("\n") ?? ""}\n-----END CERTIFICATE-----\n`;
        try {
          new X509Certificate(pem);
        } catch {
          throw invalid("metadataXml holds a signing certificate that does not parse.");
        }
        certificates.push(pem);
      }
    }
  }
  if (certificates.length === 0) throw invalid("metadataXml holds no signing certificate.");
  if (certificates.length > 5) throw invalid("metadataXml holds more than five signing certificates.");
  return { entityId, ssoUrl, certificates };
}
