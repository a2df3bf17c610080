import { generateKeyPairSync, type KeyObject, randomBytes, sign } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer as createHttpServer, request as httpRequest, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Provider from "oidc-provider";
import { ensureTlsMaterial } from "../tls/certificate-authority.js";
import { fetchTrusting } from "./https-fetch.js";

export interface IdpAccount {
  email: string;
  email_verified: boolean;
  name: string;
}

/** Rewrites the token endpoint's JSON answer on its way to the server (a man in the middle). */
export type TokenTamper = (body: Record<string, unknown>, idp: TestOidcProvider) => Record<string, unknown>;

/**
 * A real OpenID Connect provider (oidc-provider) on loopback behind HTTPS from a test CA, with a
 * small proxy in front of it that can rewrite the token endpoint's answer. Sign-in at the provider
 * is automatic: the next login is whichever account the test names.
 */
export class TestOidcProvider {
  readonly clientId = "patchpilot-test";
  readonly clientSecret = randomBytes(24).toString("base64url");
  readonly signingKey: KeyObject;
  readonly kid = "test-signing-key";
  readonly accounts = new Map<string, IdpAccount>();
  /** The account the next sign-in at the provider logs in as. */
  nextLogin = "";
  tamper: TokenTamper | null = null;
  issuer = "";
  ca = "";
  fetch: typeof fetch = fetch;
  private inner: Server | null = null;
  private outer: Server | null = null;
  private dir = "";

  constructor() {
    this.signingKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
  }

  async start(redirectUri: string): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), "pp-oidc-"));
    const tls = await ensureTlsMaterial({ tlsDir: this.dir, hostnames: ["localhost"] });
    this.ca = tls.caCert ?? "";
    this.fetch = fetchTrusting(this.ca);
    this.outer = createHttpsServer({ cert: tls.cert, key: tls.key });
    await new Promise<void>((resolve) => this.outer?.listen(0, "127.0.0.1", resolve));
    const outerPort = (this.outer.address() as AddressInfo).port;
    this.issuer = `https://127.0.0.1:${outerPort}`;
    const jwk = { ...this.signingKey.export({ format: "jwk" }), kid: this.kid, alg: "RS256", use: "sig" };
    const provider = new Provider(this.issuer, {
      clients: [
        {
          client_id: this.clientId,
          client_secret: this.clientSecret,
          redirect_uris: [redirectUri],
          grant_types: ["authorization_code"],
          response_types: ["code"],
        },
      ],
      jwks: { keys: [jwk] },
      findAccount: async (_ctx: unknown, sub: string) => ({
        accountId: sub,
        claims: async () => ({ sub, ...this.accounts.get(sub) }),
      }),
      claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
      pkce: { required: () => true },
      cookies: { keys: [randomBytes(16).toString("hex")] },
      features: { devInteractions: { enabled: false } },
      interactions: {
        url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
      },
      // The tests' clock checks are about our server, not the provider's own tolerance.
      ttl: {
        AuthorizationCode: 60,
        IdToken: 3600,
        AccessToken: 3600,
        Interaction: 600,
        Session: 600,
        Grant: 600,
      },
    });
    provider.proxy = true;
    const handle = provider.callback();
    this.inner = createHttpServer((req, res) => {
      if (req.url?.startsWith("/interaction/")) {
        this.interact(provider, req, res).catch((error: unknown) => {
          res.statusCode = 500;
          res.end(String(error));
        });
        return;
      }
      handle(req, res);
    });
    await new Promise<void>((resolve) => this.inner?.listen(0, "127.0.0.1", resolve));
    const innerPort = (this.inner.address() as AddressInfo).port;
    this.outer.on("request", (req, res) => {
      const upstream = httpRequest(
        {
          host: "127.0.0.1",
          port: innerPort,
          method: req.method,
          path: req.url,
          headers: {
            ...req.headers,
            "x-forwarded-proto": "https",
            "x-forwarded-host": `127.0.0.1:${outerPort}`,
          },
        },
        (answer) => {
          const tamper = this.tamper;
          if (!tamper || !req.url?.startsWith("/token")) {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
            return;
          }
          const chunks: Buffer[] = [];
          answer.on("data", (c: Buffer) => chunks.push(c));
          answer.on("end", () => {
            const text = JSON.stringify(tamper(JSON.parse(Buffer.concat(chunks).toString("utf8")), this));
            const headers = { ...answer.headers, "content-length": String(Buffer.byteLength(text)) };
            res.writeHead(answer.statusCode ?? 502, headers);
            res.end(text);
          });
        },
      );
      req.pipe(upstream);
    });
  }

  /** The provider's login and consent pages, answered at once for `nextLogin`. */
  private async interact(
    provider: Provider,
    req: Parameters<Provider["interactionDetails"]>[0],
    res: Parameters<Provider["interactionDetails"]>[1],
  ): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    if (details.prompt.name === "login") {
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: this.nextLogin } },
        {
          mergeWithLastSubmission: false,
        },
      );
      return;
    }
    const grant = new provider.Grant({
      accountId: details.session?.accountId ?? this.nextLogin,
      clientId: this.clientId,
    });
    grant.addOIDCScope("openid email profile");
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }

  /** Signs a JWT as the provider would (or with another key under the provider's key id). */
  signJwt(payload: Record<string, unknown>, key: KeyObject = this.signingKey): string {
    const header = Buffer.from(JSON.stringify({ alg: "RS256", typ: "JWT", kid: this.kid })).toString(
      "base64url",
    );
    const body = Buffer.from(JSON.stringify(payload)).toString("base64url");
    const signature = sign("sha256", Buffer.from(`${header}.${body}`), key).toString("base64url");
    return `${header}.${body}.${signature}`;
  }

  static claimsOf(idToken: string): Record<string, unknown> {
    const part = idToken.split(".")[1] ?? "";
    return JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as Record<string, unknown>;
  }

  /**
   * Walks a browser from the provider's authorisation URL to the redirect back to us, keeping the
   * provider's cookies; returns the URL the provider sent the browser to.
   */
  async browse(authorizationUrl: string, redirectPrefix: string): Promise<URL> {
    const jar = new Map<string, string>();
    let next = new URL(authorizationUrl);
    for (let hop = 0; hop < 10; hop++) {
      if (next.href.startsWith(redirectPrefix)) return next;
      const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
      const response = await this.fetch(next, { headers: cookie ? { cookie } : {} });
      for (const line of response.headers.getSetCookie()) {
        const [pair] = line.split(";");
        const eq = pair?.indexOf("=") ?? -1;
        if (pair && eq > 0) jar.set(pair.slice(0, eq), pair.slice(eq + 1));
      }
      const location = response.headers.get("location");
      if (!location) throw new Error(`the provider answered ${response.status}: ${await response.text()}`);
      next = new URL(location, next);
    }
    throw new Error("too many redirects at the provider");
  }

  async stop(): Promise<void> {
    this.outer?.closeAllConnections();
    this.inner?.closeAllConnections();
    await new Promise<void>((resolve) => (this.outer ? this.outer.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (this.inner ? this.inner.close(() => resolve()) : resolve()));
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}
