import { randomBytes, webcrypto } from "node:crypto";
import { inflateRawSync } from "node:zlib";
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { SignedXml } from "xml-crypto";

x509.cryptoProvider.set(webcrypto);

const RSA: webcrypto.RsaHashedKeyGenParams = {
  name: "RSASSA-PKCS1-v1_5",
  hash: "SHA-256",
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
};

export interface SigningIdentity {
  keyPem: string;
  certPem: string;
}

/** An RSA key and self-signed certificate, as an identity provider signs with. */
export async function makeSigningIdentity(name: string): Promise<SigningIdentity> {
  const keys = await webcrypto.subtle.generateKey(RSA, true, ["sign", "verify"]);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString("hex"),
    name: `CN=${name}`,
    notBefore: new Date(Date.now() - 3600_000),
    notAfter: new Date(Date.now() + 24 * 3600_000),
    keys,
    signingAlgorithm: RSA,
  });
  const der = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${der
    .toString("base64")
    .match(/.{1,64}/g)
    ?.join("\n")}\n-----END PRIVATE KEY-----\n`;
  return { keyPem, certPem: cert.toString("pem") };
}

const certBody = (pem: string) => pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");

export interface AssertionOptions {
  requestId: string;
  email: string;
  audience: string;
  recipient: string;
  destination?: string;
  issuer: string;
  assertionId?: string;
  notBefore?: Date;
  notOnOrAfter?: Date;
}

/**
 * A SAML identity provider in a test: its metadata, and signed responses built and signed the way
 * a real one does (xml-crypto, RSA-SHA256, exclusive c14n, enveloped signature on the assertion).
 */
export class TestSamlIdp {
  readonly entityId = `https://idp-${randomBytes(4).toString("hex")}.example.test/saml`;
  readonly ssoUrl = "https://idp.example.test/sso";

  constructor(readonly signing: SigningIdentity) {}

  metadataXml(): string {
    return `<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${this.entityId}">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" WantAuthnRequestsSigned="false">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo><ds:X509Data><ds:X509Certificate>${certBody(this.signing.certPem)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
    </md:KeyDescriptor>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${this.ssoUrl}/post"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${this.ssoUrl}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>`;
  }

  /** The id of the AuthnRequest in a redirect to the provider (HTTP-Redirect binding: deflated, base64). */
  static requestIdOf(redirect: string): string {
    const request = new URL(redirect).searchParams.get("SAMLRequest") ?? "";
    const xml = inflateRawSync(Buffer.from(request, "base64")).toString("utf8");
    const id = /\sID="([^"]+)"/.exec(xml)?.[1];
    if (!id) throw new Error(`no ID in ${xml}`);
    return id;
  }

  unsignedResponse(o: AssertionOptions): string {
    const now = new Date();
    const iso = (d: Date) => d.toISOString();
    const notBefore = o.notBefore ?? new Date(now.getTime() - 60_000);
    const notOnOrAfter = o.notOnOrAfter ?? new Date(now.getTime() + 5 * 60_000);
    const assertionId = o.assertionId ?? `_a${randomBytes(16).toString("hex")}`;
    return `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r${randomBytes(16).toString("hex")}" Version="2.0" IssueInstant="${iso(now)}" Destination="${o.destination ?? o.recipient}" InResponseTo="${o.requestId}"><saml:Issuer>${o.issuer}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status><saml:Assertion ID="${assertionId}" Version="2.0" IssueInstant="${iso(now)}"><saml:Issuer>${o.issuer}</saml:Issuer><saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">${o.email}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData InResponseTo="${o.requestId}" NotOnOrAfter="${iso(notOnOrAfter)}" Recipient="${o.recipient}"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="${iso(notBefore)}" NotOnOrAfter="${iso(notOnOrAfter)}"><saml:AudienceRestriction><saml:Audience>${o.audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="${iso(now)}" SessionIndex="_s${randomBytes(8).toString("hex")}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement><saml:Attribute Name="email"><saml:AttributeValue>${o.email}</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion></samlp:Response>`;
  }

  /** The response with its assertion signed by `signer` (the provider's own key unless told otherwise). */
  signedResponse(o: AssertionOptions, signer: SigningIdentity = this.signing): string {
    const sig = new SignedXml({
      privateKey: signer.keyPem,
      publicCert: signer.certPem,
      signatureAlgorithm: "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
      canonicalizationAlgorithm: "http://www.w3.org/2001/10/xml-exc-c14n#",
    });
    sig.addReference({
      xpath: "//*[local-name(.)='Assertion']",
      transforms: [
        "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
        "http://www.w3.org/2001/10/xml-exc-c14n#",
      ],
      digestAlgorithm: "http://www.w3.org/2001/04/xmlenc#sha256",
    });
    sig.computeSignature(this.unsignedResponse(o), {
      location: { reference: "//*[local-name(.)='Assertion']/*[local-name(.)='Issuer']", action: "after" },
    });
    return sig.getSignedXml();
  }
}
