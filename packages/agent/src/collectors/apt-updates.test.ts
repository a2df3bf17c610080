import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { requirePeer } from "../../../server/src/testing/peers.js";
import { APT_SIMULATE_ARGS, collectAptUpdates, isSecurityOrigin, parseAptSimulation } from "./apt-updates.js";
import { replayRunner } from "./replay-runner.js";
import { runCommand } from "./run-command.js";

const fixture = (path: string) => readFileSync(new URL(`./testdata/${path}`, import.meta.url), "utf8");
/** A dpkg-query -f format printing the named fields tab-separated, one package per line. */
const dpkgQueryFormat = (...fields: string[]) => `${fields.map((f) => `\${${f}}`).join("\\t")}\\n`;
const instLines = (text: string) => text.split("\n").filter((l) => l.startsWith("Inst ")).length;

describe("parseAptSimulation on output recorded on Debian 12", () => {
  const text = fixture("linux/apt-get-s-dist-upgrade.debian12.txt");
  const updates = parseAptSimulation(text);

  it("reads one update per Inst line", () => {
    expect(updates).toHaveLength(instLines(text));
    expect(updates.length).toBeGreaterThan(100);
  });

  it("marks updates from the security suite, also when the main suite has them too", () => {
    expect(updates.find((u) => u.name === "libssl3")).toEqual({
      ecosystem: "dpkg",
      name: "libssl3",
      arch: "amd64",
      currentVersion: "3.0.19-1~deb12u2",
      availableVersion: "3.0.22-1~deb12u2",
      origin: "Debian-Security:12/oldstable-security",
      security: true,
    });
    expect(updates.find((u) => u.name === "libgcrypt20")).toMatchObject({
      origin: "Debian:12.15/oldstable, Debian-Security:12/oldstable-security",
      security: true,
    });
    expect(updates.find((u) => u.name === "base-files")).toMatchObject({ security: false, arch: "amd64" });
    expect(updates.find((u) => u.name === "tzdata")).toMatchObject({ arch: "all", security: true });
  });

  it("keeps epochs in versions", () => {
    expect(updates.find((u) => u.name === "login")).toMatchObject({
      currentVersion: "1:4.13+dfsg1-1+deb12u1",
      availableVersion: "1:4.13+dfsg1-1+deb12u2",
    });
  });
});

describe("parseAptSimulation on Ubuntu-format output", () => {
  const updates = parseAptSimulation(fixture("linux/apt-get-s-ubuntu2204.txt"));

  it("splits a foreign-architecture name and lists new packages without a current version", () => {
    expect(updates.map((u) => `${u.name}/${u.arch}`)).toEqual([
      "libc6/amd64",
      "libc6/i386",
      "linux-image-5.15.0-101-generic/amd64",
      "linux-image-generic/amd64",
      "openssl/amd64",
      "tzdata/all",
    ]);
    expect(updates[2]).toMatchObject({
      currentVersion: null,
      availableVersion: "5.15.0-101.111",
      security: true,
    });
    expect(updates[5]).toMatchObject({ security: false, origin: "Ubuntu:22.04/jammy-updates" });
  });

  it("recognises the security suites of both distributions", () => {
    expect(isSecurityOrigin("Ubuntu:22.04/jammy-security")).toBe(true);
    expect(isSecurityOrigin("UbuntuESMApps:22.04/jammy-apps-security")).toBe(true);
    expect(isSecurityOrigin("Debian-Security:12/stable-security")).toBe(true);
    expect(isSecurityOrigin("Debian:12.5/stable")).toBe(false);
    expect(isSecurityOrigin("Ubuntu:22.04/jammy-updates")).toBe(false);
  });

  it("fails when apt-get fails", async () => {
    const runner = replayRunner([
      {
        program: "apt-get",
        args: APT_SIMULATE_ARGS,
        result: { code: 100, stderr: "E: Could not open lock file" },
      },
    ]);
    await expect(collectAptUpdates(runner)).rejects.toThrow(/Could not open lock file/);
  });
});

const hasApt = requirePeer("apt-get", "apt") && requirePeer("dpkg-query", "dpkg");

describe.skipIf(!hasApt)("apt-get -s on this machine", () => {
  it("lists what apt-get would install, each current version being the installed one", async () => {
    const options = { timeoutMs: 180_000, maxOutputBytes: 16 << 20 };
    const raw = await runCommand("apt-get", APT_SIMULATE_ARGS, options);
    expect(raw.code).toBe(0);
    const updates = await collectAptUpdates(runCommand);
    // Possibly zero when the machine is up to date; then the recorded fixtures above carry the parser.
    expect(updates).toHaveLength(instLines(raw.stdout));
    const query = await runCommand(
      "dpkg-query",
      ["-W", "-f", dpkgQueryFormat("Package", "Architecture", "Version")],
      options,
    );
    const versions = new Map(
      query.stdout
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => {
          const [name = "", arch = "", version = ""] = l.split("\t");
          return [`${name}:${arch}`, version] as const;
        }),
    );
    for (const u of updates) {
      expect(u.ecosystem).toBe("dpkg");
      expect(u.availableVersion).not.toBe("");
      if (u.currentVersion !== null) {
        // An arch:all update replaces an installed arch:all package; others match by their arch.
        expect(versions.get(`${u.name}:${u.arch}`)).toBe(u.currentVersion);
      }
    }
    console.info(
      `apt-get -s: ${updates.length} updates, ${updates.filter((u) => u.security).length} security`,
    );
  });
});
