import Type from "typebox";
import type { Config } from "../config/config.js";
import type { Database } from "../db/database.js";
import { readMigrations, unapplied } from "../db/migrate.js";
import { AppError } from "../http/errors.js";
import { defineRoute, type RouteDefinition } from "../http/route.js";
import { securityTxt } from "./security-txt.js";

const Status = Type.Object({ status: Type.String() });

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
  ];
}
