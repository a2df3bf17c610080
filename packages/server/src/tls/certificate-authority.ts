import {
  createHash,
  createPrivateKey,
  X509Certificate as NodeX509,
  randomBytes,
  webcrypto,
} from "node:crypto";
import { chmod, link, mkdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { join } from "node:path";
// @peculiar/x509 resolves its algorithms through tsyringe, which needs this polyfill loaded first.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

export interface TlsMaterial {
  /** Server certificate chain PEM: the leaf, then the CA certificate. */
  cert: string;
  /** Server private key PEM (PKCS#8). */
  key: string;
  /** Our root CA PEM, or null when an operator-given certificate is used. */
  caCert: string | null;
  /** Base64 SHA-256 of the root CA's SubjectPublicKeyInfo (the agent pin), null when given cert. */
  caSpkiSha256: string | null;
  source: "generated" | "given";
}

export interface EnsureTlsOptions {
  tlsDir: string;
  hostnames: string[];
  certFile?: string;
  keyFile?: string;
  now?: Date;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const CA_VALIDITY_DAYS = 3652;
// Browsers and Apple clients reject leaf certificates valid for more than 398 days.
const SERVER_VALIDITY_DAYS = 397;
const RENEW_BEFORE_DAYS = 30;
// Tolerates agents whose clocks run a little behind the server's.
const BACKDATE_MS = 60 * 60 * 1000;
const ALWAYS_COVERED = ["localhost", "127.0.0.1", "::1"];
const DNS_LABEL = "[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?";
const DNS_NAME = new RegExp(`^${DNS_LABEL}(?:\\.${DNS_LABEL})*$`);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const EC_KEY: webcrypto.EcKeyGenParams = { name: "ECDSA", namedCurve: "P-256" };
const SIGNING: webcrypto.EcdsaParams = { name: "ECDSA", hash: "SHA-256" };

const cryptoImpl = webcrypto;
x509.cryptoProvider.set(cryptoImpl);

const FILES = {
  caCert: "ca.crt",
  caKey: "ca.key",
  serverCert: "server.crt",
  serverKey: "server.key",
} as const;

export async function ensureTlsMaterial(options: EnsureTlsOptions): Promise<TlsMaterial> {
  const now = options.now ?? new Date();
  if (options.certFile !== undefined || options.keyFile !== undefined) {
    if (options.certFile === undefined || options.keyFile === undefined) {
      throw new Error(
        "A TLS certificate file and a TLS key file must be given together, not just one of them.",
      );
    }
    return loadGivenMaterial(options.certFile, options.keyFile, now);
  }

  const hostnames = normalizeHostnames(options.hostnames);
  const created = await mkdir(options.tlsDir, { recursive: true, mode: 0o700 });
  if (created !== undefined) await chmod(options.tlsDir, 0o700);

  const ca = await loadOrCreateCa(options.tlsDir, now);
  const server = await loadOrIssueServer(options.tlsDir, ca, hostnames, now);
  return {
    cert: `${server.certPem.trimEnd()}\n${ca.certPem.trimEnd()}\n`,
    key: server.keyPem,
    caCert: ca.certPem,
    caSpkiSha256: spkiSha256(ca.certPem),
    source: "generated",
  };
}

/** Base64 SHA-256 over the DER SubjectPublicKeyInfo of the (first) certificate in `certPem`. */
function spkiSha256(certPem: string): string {
  const spki = new NodeX509(certPem).publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(spki).digest("base64");
}

async function loadGivenMaterial(certFile: string, keyFile: string, now: Date): Promise<TlsMaterial> {
  const certPem = await readFile(certFile, "utf8");
  const keyPem = await readFile(keyFile, "utf8");
  let leaf: NodeX509;
  try {
    leaf = new NodeX509(certPem);
  } catch (err) {
    throw new Error(`The TLS certificate file ${certFile} does not contain a readable PEM certificate.`, {
      cause: err,
    });
  }
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new Error(`The TLS key file ${keyFile} does not contain a readable unencrypted PEM private key.`, {
      cause: err,
    });
  }
  if (!leaf.checkPrivateKey(key)) {
    throw new Error(
      `The TLS private key in ${keyFile} does not match the certificate in ${certFile}; ` +
        "give the key that belongs to this certificate.",
    );
  }
  if (new Date(leaf.validTo).getTime() <= now.getTime()) {
    throw new Error(`The TLS certificate in ${certFile} expired on ${leaf.validTo}; renew it.`);
  }
  if (new Date(leaf.validFrom).getTime() > now.getTime()) {
    throw new Error(`The TLS certificate in ${certFile} is not valid until ${leaf.validFrom}.`);
  }
  return {
    cert: certPem,
    key: key.export({ type: "pkcs8", format: "pem" }).toString(),
    caCert: null,
    caSpkiSha256: null,
    source: "given",
  };
}

function normalizeHostnames(hostnames: string[]): string[] {
  const out = new Set<string>();
  for (const raw of [...hostnames, ...ALWAYS_COVERED]) {
    let name = raw.trim().toLowerCase().replace(/\.$/, "");
    // Accept URL-style IPv6 literals such as "[::1]".
    if (name.startsWith("[") && name.endsWith("]")) name = name.slice(1, -1);
    if (name === "") continue;
    // Wildcards are refused: this certificate names one server, and checkHost could not confirm them.
    if (isIP(name) === 0 && !DNS_NAME.test(name)) {
      throw new Error(`"${raw}" is neither an IP address nor a valid DNS name for the server certificate.`);
    }
    out.add(name);
  }
  return [...out];
}

interface CaState {
  certPem: string;
  cert: x509.X509Certificate;
  signingKey: CryptoKey;
}

async function loadOrCreateCa(dir: string, now: Date): Promise<CaState> {
  const certPath = join(dir, FILES.caCert);
  const keyPath = join(dir, FILES.caKey);
  const [certPem, keyPem] = await Promise.all([readIfExists(certPath), readIfExists(keyPath)]);

  if (certPem !== null && keyPem !== null) {
    const nodeCert = new NodeX509(certPem);
    if (!nodeCert.checkPrivateKey(createPrivateKey(keyPem))) {
      throw new Error(
        `${keyPath} does not match ${certPath}; restore the original CA key (agents pin this CA).`,
      );
    }
    if (new Date(nodeCert.validTo).getTime() <= now.getTime()) {
      // Regenerating silently would break every pinned agent, so an operator must decide.
      throw new Error(`The PatchPilot root CA in ${certPath} expired on ${nodeCert.validTo}.`);
    }
    return { certPem, cert: new x509.X509Certificate(certPem), signingKey: await importSigningKey(keyPem) };
  }
  if (certPem !== null || keyPem !== null) {
    // Half a CA cannot be repaired without breaking the agents' pin, so refuse rather than regenerate.
    const missing = certPem === null ? certPath : keyPath;
    throw new Error(`The PatchPilot root CA is incomplete: ${missing} is missing. Restore it from a backup.`);
  }

  const keys = await generateKeyPair();
  const notBefore = new Date(now.getTime() - BACKDATE_MS);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=PatchPilot Root CA ${randomBytes(4).toString("hex")}`,
    notBefore,
    notAfter: new Date(now.getTime() + CA_VALIDITY_DAYS * DAY_MS),
    keys,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const newCertPem = cert.toString("pem");
  // Key first: a crash between the writes leaves an incomplete CA that is refused, never a silent new one.
  // No-clobber writes: a second server racing on the same directory fails instead of replacing the CA.
  try {
    await writeAtomic(keyPath, await exportPrivateKeyPem(keys.privateKey), 0o600, { replace: false });
    await writeAtomic(certPath, `${newCertPem}\n`, 0o644, { replace: false });
  } catch (err) {
    if (err instanceof Error && "code" in err && err.code === "EEXIST") {
      throw new Error(
        `Another process created the PatchPilot root CA in ${dir} at the same moment; start again to use it.`,
        { cause: err },
      );
    }
    throw err;
  }
  return { certPem: `${newCertPem}\n`, cert, signingKey: keys.privateKey };
}

interface ServerState {
  certPem: string;
  keyPem: string;
}

async function loadOrIssueServer(
  dir: string,
  ca: CaState,
  hostnames: string[],
  now: Date,
): Promise<ServerState> {
  const certPath = join(dir, FILES.serverCert);
  const keyPath = join(dir, FILES.serverKey);
  const [certPem, keyPem] = await Promise.all([readIfExists(certPath), readIfExists(keyPath)]);
  if (certPem !== null && keyPem !== null && isServerCertUsable(certPem, keyPem, ca, hostnames, now)) {
    return { certPem, keyPem };
  }

  const keys = await generateKeyPair();
  const notBefore = new Date(now.getTime() - BACKDATE_MS);
  // A leaf must not outlive its issuer, or strict verifiers reject it near the CA's end of life.
  const notAfter = new Date(
    Math.min(now.getTime() + SERVER_VALIDITY_DAYS * DAY_MS, ca.cert.notAfter.getTime()),
  );
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${hostnames.find((h) => isIP(h) === 0) ?? "localhost"}`,
    issuer: ca.cert.subjectName,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: ca.signingKey,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension(
        hostnames.map((h) => ({ type: isIP(h) === 0 ? ("dns" as const) : ("ip" as const), value: h })),
        false,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey),
    ],
  });
  const newCertPem = `${cert.toString("pem")}\n`;
  const newKeyPem = await exportPrivateKeyPem(keys.privateKey);
  await writeAtomic(keyPath, newKeyPem, 0o600);
  await writeAtomic(certPath, newCertPem, 0o644);
  return { certPem: newCertPem, keyPem: newKeyPem };
}

function isServerCertUsable(
  certPem: string,
  keyPem: string,
  ca: CaState,
  hostnames: string[],
  now: Date,
): boolean {
  let cert: NodeX509;
  try {
    cert = new NodeX509(certPem);
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) return false;
  } catch {
    // Unreadable files are replaced: the server certificate is ours to reissue at any time.
    return false;
  }
  if (!cert.verify(new NodeX509(ca.certPem).publicKey)) return false;
  if (new Date(cert.validTo).getTime() - now.getTime() < RENEW_BEFORE_DAYS * DAY_MS) return false;
  // checkHost/checkIP apply the same SAN matching rules a TLS client would.
  return hostnames.every((h) =>
    isIP(h) === 0
      ? cert.checkHost(h, { subject: "never", wildcards: false }) !== undefined
      : cert.checkIP(h) !== undefined,
  );
}

async function generateKeyPair(): Promise<CryptoKeyPair> {
  return cryptoImpl.subtle.generateKey(EC_KEY, true, ["sign", "verify"]);
}

async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await cryptoImpl.subtle.exportKey("pkcs8", key));
  return createPrivateKey({ key: der, format: "der", type: "pkcs8" })
    .export({ type: "pkcs8", format: "pem" })
    .toString();
}

async function importSigningKey(keyPem: string): Promise<CryptoKey> {
  const der = createPrivateKey(keyPem).export({ type: "pkcs8", format: "der" });
  return cryptoImpl.subtle.importKey("pkcs8", der, EC_KEY, false, ["sign"]);
}

/** 16 random bytes; first byte in 0x01..0x7f so the DER INTEGER is positive and exactly 16 bytes long. */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return bytes.toString("hex");
}

async function readIfExists(path: string): Promise<string | null> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if (err instanceof Error && "code" in err && err.code === "ENOENT") return null;
    throw err;
  }
}

// Writing a temporary file first means a crash never leaves a half-written key or certificate behind.
async function writeAtomic(
  path: string,
  content: string,
  mode: number,
  { replace }: { replace: boolean } = { replace: true },
): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  await writeFile(tmp, content, { mode, flag: "wx" });
  try {
    // writeFile's mode is filtered by the umask; the key's permissions must not depend on it.
    await chmod(tmp, mode);
    if (replace) {
      await rename(tmp, path);
    } else {
      // link() fails with EEXIST instead of overwriting, unlike rename().
      await link(tmp, path);
    }
  } finally {
    // After a rename this finds nothing to remove; after a link or a failure it drops the temporary name.
    await unlink(tmp).catch(() => undefined);
  }
}
