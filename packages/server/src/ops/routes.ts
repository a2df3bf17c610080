import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import Type from "typebox";
import type { Config } from "../config/config.js";
import type { Database } from "../db/database.js";
import { readMigrations, unapplied } from "../db/migrate.js";
import { AppError } from "../http/errors.js";
import { defineRoute, type RouteDefinition } from "../http/route.js";
import { securityTxt } from "./security-txt.js";

const CONSOLE_DIR = fileURLToPath(new URL("../../../console/public/", import.meta.url));
const ASSET = /^[a-z0-9-]+\.(js|css)$/;
const ASSET_TYPES: Record<string, string> = {
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
};

const Status = Type.Object({ status: Type.String() });
const PAGE_EXEMPT = "a static console file, the same for everyone";

function page(url: string, file: string, summary: string): RouteDefinition {
  return defineRoute({
    method: "GET",
    url,
    summary,
    tags: ["console"],
    permission: "public",
    contentType: "text/html; charset=utf-8",
    isolationExempt: PAGE_EXEMPT,
    schema: { response: { 200: Type.String() } },
    handler: () => readFile(`${CONSOLE_DIR}${file}`, "utf8"),
  });
}

export function opsRoutes(db: Database, config: Config, openapi: () => unknown): RouteDefinition[] {
  // The migration files this build ships do not change while it runs.
  const shipped = readMigrations();
  shipped.catch(() => {}); // a failure is reported by readiness, not as an unhandled rejection
  return [
    defineRoute({
      method: "GET",
      url: "/healthz",
      summary: "The process is alive",
      tags: ["operations"],
      permission: "public",
      isolationExempt: "reports only that the process runs",
      schema: { response: { 200: Status } },
      handler: async () => ({ status: "ok" }),
    }),
    defineRoute({
      method: "GET",
      url: "/readyz",
      summary: "The database answers and its schema is current",
      tags: ["operations"],
      permission: "public",
      isolationExempt: "reports only whether the server can serve",
      schema: { response: { 200: Status, 503: Status } },
      async handler({ reply }) {
        try {
          await db.ping();
          const applied = await db.systemReader
            .selectFrom("schema_migrations")
            .select(["version", "checksum"])
            .execute();
          const pending = unapplied(await shipped, new Map(applied.map((m) => [m.version, m.checksum])));
          if (pending.length > 0) return reply.code(503).send({ status: "migrations pending" });
          return { status: "ready" };
        } catch {
          throw new AppError("service.unavailable");
        }
      },
    }),
    defineRoute({
      method: "GET",
      url: "/.well-known/security.txt",
      summary: "How to report a vulnerability (RFC 9116)",
      tags: ["operations"],
      permission: "public",
      contentType: "text/plain; charset=utf-8",
      isolationExempt: "the same public text for everyone",
      schema: { response: { 200: Type.String() } },
      handler: async () => securityTxt(config),
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/openapi.json",
      summary: "This API's OpenAPI 3.1 document",
      tags: ["operations"],
      permission: "public",
      isolationExempt: "describes the API, holds no data",
      schema: { response: { 200: Type.Object({}, { additionalProperties: true }) } },
      handler: async () => openapi(),
    }),
    page("/", "index.html", "The console's sign-in page"),
    page("/setup", "setup.html", "The first-run setup page"),
    page("/invitations/accept", "accept.html", "The invitation acceptance page"),
    defineRoute({
      method: "GET",
      url: "/assets/:file",
      summary: "The console's scripts and styles",
      tags: ["console"],
      permission: "public",
      isolationExempt: PAGE_EXEMPT,
      schema: {
        params: Type.Object({ file: Type.String({ maxLength: 100 }) }, { additionalProperties: false }),
        response: { 200: Type.String() },
      },
      async handler({ params, reply }) {
        const match = ASSET.exec(params.file);
        if (!match?.[1]) throw new AppError("route.not_found");
        const body = await readFile(`${CONSOLE_DIR}assets/${params.file}`, "utf8").catch(() => null);
        if (body === null) throw new AppError("route.not_found");
        reply.type(ASSET_TYPES[match[1]] ?? "application/octet-stream");
        return body;
      },
    }),
  ];
}
