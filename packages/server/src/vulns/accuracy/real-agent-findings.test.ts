/**
 * End to end on this machine: advisories in their published formats (OSV and the Debian security
 * tracker's JSON) written for packages that are really installed here, imported as an offline site
 * would, then the real agent's inventory, and the findings read back through the API.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, runAgentCli, spawnAgent } from "../../testing/agent-cli.js";
import { call, createTestOrg, type TestOrg } from "../../testing/app.js";
import { requirePeer } from "../../testing/peers.js";
import { type RealServer, startRealServer } from "../../testing/real-server.js";
import { importFeedBundle } from "../feeds/import/import-feeds.js";

const run = promisify(execFile);

let server: RealServer;
let org: TestOrg;
let work: string;

beforeAll(async () => {
  server = await startRealServer();
  org = await createTestOrg(server.server.db, "Real Findings Ltd");
  work = await mkdtemp(path.join(tmpdir(), "pp-real-findings-"));
});
afterAll(async () => {
  await server?.destroy();
  await rm(work, { recursive: true, force: true });
});

function api(url: string, method: "GET" | "POST" = "GET", body?: unknown) {
  return call(server.server.app, {
    method,
    url: `/api/v1/orgs/${org.organizationId}${url}`,
    as: org.owner,
    ...(body === undefined ? {} : { body }),
  });
}

/** A field of /etc/os-release. */
async function osRelease(key: string): Promise<string> {
  const text = await readFile("/etc/os-release", "utf8");
  return new RegExp(`^${key}="?([^"\\n]*)"?$`, "m").exec(text)?.[1] ?? "";
}

/** Binary name, version and source package of an installed package. */
async function installed(
  name: string,
): Promise<{ name: string; version: string; source: string; sourceVersion: string }> {
  const { stdout } = await run("dpkg-query", [
    "-W",
    "-f",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own field syntax
    "${Package}\\t${Version}\\t${source:Package}\\t${source:Version}",
    name,
  ]);
  const [pkg = "", version = "", source = "", sourceVersion = ""] = stdout.trim().split("\t");
  return { name: pkg, version, source, sourceVersion };
}

describe("findings for this machine's real inventory", () => {
  it.skipIf(!requirePeer("dpkg-query", "dpkg"))(
    "come from imported real-format advisories, by source package, release and dpkg order",
    async () => {
      const versionId = await osRelease("VERSION_ID");
      const codename = await osRelease("VERSION_CODENAME");
      const dpkg = await installed("dpkg");
      const libc = await installed("libc6");
      const bundle = path.join(work, "feeds");
      await mkdir(bundle, { recursive: true });
      const osv = (id: string, fixed: string) => ({
        schema_version: "1.6.0",
        id,
        modified: "2026-11-30T00:00:00Z",
        published: "2026-11-01T00:00:00Z",
        aliases: [id.replace(/^DEBIAN-/, "")],
        summary: `${dpkg.source}: a test flaw`,
        details: "Written for this machine's installed dpkg.",
        severity: [{ type: "CVSS_V3", score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" }],
        affected: [
          {
            package: { ecosystem: `Debian:${versionId}`, name: dpkg.source },
            ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed }] }],
          },
        ],
      });
      // Fixed in a later build than the one installed: affected. Fixed in the installed build: not.
      await writeFile(
        path.join(bundle, "osv-debian.json"),
        JSON.stringify([
          osv("DEBIAN-CVE-2099-0001", `${dpkg.sourceVersion}+pp1`),
          osv("DEBIAN-CVE-2099-0002", dpkg.sourceVersion),
        ]),
      );
      // The tracker's JSON: open in this release, no fix yet.
      await writeFile(
        path.join(bundle, "tracker.json"),
        JSON.stringify({
          [libc.source]: {
            "CVE-2099-0003": {
              description: "A test flaw in the C library",
              scope: "local",
              releases: {
                [codename]: {
                  status: "open",
                  repositories: { [codename]: libc.sourceVersion },
                  urgency: "low",
                },
              },
            },
          },
        }),
      );
      const imported = await importFeedBundle(server.server.db, bundle);
      expect(imported.failed).toEqual([]);
      expect(imported.feeds.map((f) => [f.feed, f.stored]).sort()).toEqual([
        ["debian-tracker", 1],
        ["osv", 2],
      ]);

      const stateDir = path.join(work, "agent");
      const token = await api("/enrollment-tokens", "POST", { name: "real findings" });
      const enrolled = await runAgentCli(
        ["enroll", "--server", server.url, "--ca-pin", server.caPin, "--state-dir", stateDir],
        { PATCHPILOT_ENROLLMENT_TOKEN: token.json().token },
      );
      expect(enrolled.code, enrolled.output).toBe(0);
      const { deviceId } = JSON.parse(enrolled.output.trim().split("\n").at(-1) ?? "{}");
      const agent = spawnAgent(["run", "--state-dir", stateDir, "--interval", "2", "--job-wait", "5"]);
      try {
        const findings = await eventually(
          async () => {
            const page = await api(`/findings?deviceId=${deviceId}&limit=200`);
            const items = page.json().items as {
              vulnerability: { id: string };
              package: { name: string };
              installedVersion: string;
              fixedVersion: string | null;
              rangeStatus: string;
              status: string;
            }[];
            return items.some((f) => f.vulnerability.id === "CVE-2099-0003") &&
              items.some((f) => f.vulnerability.id === "CVE-2099-0001")
              ? items
              : undefined;
          },
          60_000,
          "the findings",
        );
        const summary = findings
          .map((f) => [
            f.vulnerability.id,
            f.package.name,
            f.installedVersion,
            f.fixedVersion,
            f.rangeStatus,
            f.status,
          ])
          .sort();
        expect(summary).toContainEqual([
          "CVE-2099-0001",
          "dpkg",
          dpkg.version,
          `${dpkg.sourceVersion}+pp1`,
          "fixed",
          "open",
        ]);
        expect(summary).toContainEqual(["CVE-2099-0003", "libc6", libc.version, null, "affected", "open"]);
        expect(findings.some((f) => f.vulnerability.id === "CVE-2099-0002")).toBe(false);

        const affected = await api("/vulnerabilities/CVE-2099-0001/devices");
        expect(affected.statusCode).toBe(200);
        expect(affected.json().items.map((d: { device: { id: string } }) => d.device.id)).toContain(deviceId);
        expect((await api("/vulnerabilities/CVE-2099-9999")).statusCode).toBe(404);
      } finally {
        agent.child.kill("SIGKILL");
      }
    },
    150_000,
  );
});
