import Type from "typebox";
import type { Config } from "../config/config.js";
import type { Database } from "../db/database.js";
import { ONLINE_INTERVALS } from "../devices/device-queries.js";
import { AppError } from "../http/errors.js";
import { defineRoute, type RouteDefinition } from "../http/route.js";
import { OrgParams } from "../http/schemas.js";
import { agentEnrollment } from "./agent-enrollment.js";
import type { ConsoleFiles } from "./console-files.js";
import { readDashboard } from "./dashboard.js";

const PAGE_EXEMPT = "a static console file, the same for everyone";
const ASSET = /^[A-Za-z0-9_-]{1,80}\.(js|css|svg|woff2)$/;
// Hashed file names change with every build, so a browser may keep them for good.
const IMMUTABLE = "public, max-age=31536000, immutable";

/** The client-side addresses of the single-page console, each answered with the same page. */
const PAGES: { url: string; title: string; summary: string }[] = [
  { url: "/", title: "PatchPilot", summary: "The console (sign-in, then the dashboard)" },
  { url: "/setup", title: "Set up PatchPilot", summary: "The first-run setup page" },
  {
    url: "/invitations/accept",
    title: "Join an organisation on PatchPilot",
    summary: "Accepting an invitation",
  },
  { url: "/account", title: "My account · PatchPilot", summary: "The console: my sessions and password" },
  // Named parameters rather than a wildcard, so the OpenAPI document can name these addresses too.
  { url: "/orgs/:org", title: "PatchPilot", summary: "The console: an organisation (client-side route)" },
  {
    url: "/orgs/:org/:section",
    title: "PatchPilot",
    summary: "The console: an organisation's page (client-side route)",
  },
  {
    url: "/orgs/:org/:section/:item",
    title: "PatchPilot",
    summary: "The console: one item of an organisation's page (client-side route)",
  },
];

// The page never reads these on the server: the browser's router does.
const Segment = Type.String({ minLength: 1, maxLength: 200 });
const PageParams = Type.Object(
  { org: Type.Optional(Segment), section: Type.Optional(Segment), item: Type.Optional(Segment) },
  { additionalProperties: false },
);

function page(files: ConsoleFiles, p: (typeof PAGES)[number]): RouteDefinition {
  return defineRoute({
    method: "GET",
    url: p.url,
    summary: p.summary,
    tags: ["console"],
    permission: "public",
    contentType: "text/html; charset=utf-8",
    isolationExempt: PAGE_EXEMPT,
    schema: {
      ...(p.url.includes(":") ? { params: PageParams } : {}),
      response: { 200: Type.String() },
    },
    async handler({ reply }) {
      reply.header("cache-control", "no-cache");
      return files.page(p.title);
    },
  });
}

const Dashboard = Type.Object({
  devices: Type.Object({
    total: Type.Integer(),
    online: Type.Integer(),
    offline: Type.Integer(),
    notSeen7Days: Type.Integer(),
    compliant: Type.Integer({ description: "active devices with no open finding past its SLA" }),
  }),
  compliancePercent: Type.Union([Type.Number(), Type.Null()]),
});

const AgentEnrollment = Type.Object({
  serverUrl: Type.String(),
  caPin: Type.Union([Type.String(), Type.Null()]),
});

export function consoleRoutes(db: Database, config: Config, files: ConsoleFiles): RouteDefinition[] {
  const onlineSeconds = config.checkInIntervalSeconds * ONLINE_INTERVALS;
  return [
    ...PAGES.map((p) => page(files, p)),
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
      async handler({ params, request, reply }) {
        const asset = ASSET.test(params.file) ? files.asset(params.file) : undefined;
        if (!asset) throw new AppError("route.not_found");
        reply.type(asset.type).header("cache-control", IMMUTABLE).header("vary", "accept-encoding");
        if (/\bgzip\b/.test(String(request.headers["accept-encoding"] ?? ""))) {
          reply.header("content-encoding", "gzip");
          return asset.gzipped;
        }
        return asset.body;
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/dashboard",
      summary:
        "Fleet counts for the dashboard: devices online, offline, not seen for 7 days, patch compliance",
      tags: ["console"],
      permission: "devices.read",
      schema: { params: OrgParams, response: { 200: Dashboard } },
      handler: ({ ctx }) => readDashboard(db, ctx, onlineSeconds),
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/agent-enrollment",
      summary:
        "What the agent install commands need besides the token: the server address and its root CA pin",
      tags: ["console"],
      permission: "enrollment_tokens.read",
      schema: { params: OrgParams, response: { 200: AgentEnrollment } },
      handler: async ({ request }) => agentEnrollment(config, request.socket.localPort ?? config.port),
    }),
  ];
}
