import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { requirePeer } from "../../../server/src/testing/peers.js";
import { collectDpkgInventory, DpkgStatusParseError, dpkgEntries, parseDpkgStatus } from "./dpkg-status.js";
import { runCommand } from "./run-command.js";

/** One member of a txtar archive (`-- name --` headers), as Go's golang.org/x/tools/txtar defines them. */
function txtarMember(archive: string, name: string): string {
  const parts = archive.split(/^-- (.+?) --$\n?/m);
  const index = parts.indexOf(name);
  if (index < 0) throw new Error(`no ${name} in archive`);
  return parts[index + 1] ?? "";
}

const ubuntuStatus = txtarMember(
  readFileSync(new URL("./testdata/dpkg/valid.txtar", import.meta.url), "utf8"),
  "var/lib/dpkg/status",
);

const stanza = (fields: Record<string, string>) =>
  Object.entries(fields)
    .map(([k, v]) => `${k}: ${v}`)
    .join("\n");

describe("parseDpkgStatus on a real Ubuntu status file (trivy fixture)", () => {
  const parsed = parseDpkgStatus(ubuntuStatus);

  it("reports every installed package and skips the removed one silently", () => {
    // 91 stanzas: 90 `install ok installed`, 1 `deinstall ok config-files`.
    expect(parsed.packages).toHaveLength(90);
    expect(parsed.problems).toEqual([]);
    expect(parsed.packages.every((p) => p.state === "installed")).toBe(true);
  });

  it("takes the source name from Source:, and the binary version when Source has none", () => {
    expect(parsed.packages.find((p) => p.name === "fdisk")).toMatchObject({
      version: "2.31.1-0.4ubuntu3.1",
      architecture: "amd64",
      sourceName: "util-linux",
      sourceVersion: "2.31.1-0.4ubuntu3.1",
    });
  });

  it("takes the source version from `Source: name (version)` when the binary's differs", () => {
    const withVersion = parsed.packages.filter((p) => p.sourceVersion !== p.version);
    expect(withVersion.length).toBeGreaterThan(0);
    const gcc = withVersion.find((p) => p.sourceName === "gcc-8");
    expect(gcc?.sourceVersion).toBe("8-20180414-1ubuntu2");
    expect(gcc?.version).not.toBe("8-20180414-1ubuntu2");
  });

  it("uses the package name as source name when there is no Source field", () => {
    const noSource = ubuntuStatus
      .split("\n\n")
      .filter((s) => /^Status: install ok installed$/m.test(s) && !/^Source:/m.test(s))
      .map((s) => /^Package: (.+)$/m.exec(s)?.[1]);
    expect(noSource.length).toBeGreaterThan(0);
    for (const name of noSource) {
      const p = parsed.packages.find((x) => x.name === name);
      expect(p?.sourceName).toBe(name);
      expect(p?.sourceVersion).toBe(p?.version);
    }
  });

  it("makes dpkg entries with the release it is given", () => {
    const [entry] = dpkgEntries(parsed.packages.slice(0, 1), "ubuntu:18.04");
    expect(entry).toEqual({
      kind: "package",
      ecosystem: "dpkg",
      release: "ubuntu:18.04",
      name: "fdisk",
      version: "2.31.1-0.4ubuntu3.1",
      arch: "amd64",
      sourceName: "util-linux",
      sourceVersion: "2.31.1-0.4ubuntu3.1",
    });
  });
});

describe("parseDpkgStatus states", () => {
  const pkg = (name: string, status: string) =>
    stanza({ Package: name, Status: status, Architecture: "amd64", Version: "1.0-1" });

  it("reports packages whose files are on disk, whatever the selection", () => {
    const text = [
      pkg("held", "hold ok installed"),
      pkg("leaving", "deinstall ok installed"),
      pkg("unconfigured", "install ok half-configured"),
      pkg("unpacked", "install ok unpacked"),
      pkg("triggered", "install ok triggers-pending"),
      pkg("awaiting", "install ok triggers-awaited"),
      pkg("broken", "install reinstreq installed"),
    ].join("\n\n");
    const names = parseDpkgStatus(text).packages.map((p) => p.name);
    expect(names).toEqual(["held", "leaving", "unconfigured", "unpacked", "triggered", "awaiting", "broken"]);
  });

  it("skips removed packages silently and half-installed ones with a warning", () => {
    const text = [
      pkg("gone", "purge ok not-installed"),
      pkg("conffiles", "deinstall ok config-files"),
      pkg("interrupted", "install reinstreq half-installed"),
      pkg("kept", "install ok installed"),
    ].join("\n\n");
    const parsed = parseDpkgStatus(text);
    expect(parsed.packages.map((p) => p.name)).toEqual(["kept"]);
    expect(parsed.problems).toEqual([
      "dpkg status: interrupted is half-installed; not reported until it is reinstalled",
    ]);
  });

  it("skips malformed stanzas with a warning but keeps the rest", () => {
    const text = [
      pkg("good", "install ok installed"),
      stanza({ Package: "nostatus", Version: "1" }),
      stanza({ Package: "noversion", Status: "install ok installed", Architecture: "amd64" }),
      `${pkg("badline", "install ok installed")}\nthis line is not a field`,
      stanza({ Status: "install ok installed", Version: "1" }),
    ].join("\n\n");
    const parsed = parseDpkgStatus(text);
    expect(parsed.packages.map((p) => p.name)).toEqual(["good"]);
    expect(parsed.problems).toHaveLength(4);
  });

  it("reads CRLF line ends and continuation lines", () => {
    const text = `${pkg("a", "install ok installed")}\nDescription: x\n more\n .\n`.replace(/\n/g, "\r\n");
    expect(parseDpkgStatus(text).packages.map((p) => p.name)).toEqual(["a"]);
  });

  it("treats an empty status file as no packages", () => {
    expect(parseDpkgStatus("").packages).toEqual([]);
  });

  it("throws when a non-empty file has no readable stanza at all", () => {
    expect(() => parseDpkgStatus("\u0000\u0001garbage\nmore garbage\n")).toThrow(DpkgStatusParseError);
    expect(() => parseDpkgStatus("<html>not a status file</html>")).toThrow(DpkgStatusParseError);
  });
});

describe("collectDpkgInventory", () => {
  const dirs: string[] = [];
  afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it("reads the status file under a sandbox root, as dpkg --root does", async () => {
    const root = await mkdtemp(join(tmpdir(), "pp-dpkg-"));
    dirs.push(root);
    await mkdir(join(root, "var/lib/dpkg"), { recursive: true });
    await writeFile(join(root, "var/lib/dpkg/status"), ubuntuStatus);
    const output = await collectDpkgInventory(root, "ubuntu:18.04");
    expect(output.packages).toHaveLength(90);
    expect(new Set(output.packages.map((p) => p.release))).toEqual(new Set(["ubuntu:18.04"]));
  });
});

const hasDpkg = requirePeer("dpkg-query", "dpkg");

/** A dpkg-query -f format printing the named fields tab-separated, one package per line. */
const dpkgQueryFormat = (...fields: string[]) => `${fields.map((f) => `\${${f}}`).join("\\t")}\\n`;

async function dpkgQuery(...fields: string[]): Promise<string[][]> {
  const result = await runCommand("dpkg-query", ["-W", "-f", dpkgQueryFormat(...fields)], {
    timeoutMs: 60_000,
    maxOutputBytes: 64 << 20,
  });
  expect(result.code).toBe(0);
  return result.stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => l.split("\t"));
}

describe.skipIf(!hasDpkg)("the dpkg collector on this machine", () => {
  it("reports exactly what dpkg-query reports as present (name, arch, version)", async () => {
    const rows = await dpkgQuery("binary:Package", "Package", "Architecture", "Version", "db:Status-Abbrev");
    // Second letter of db:Status-Abbrev: i installed, U unpacked, F half-configured, W triggers-awaited,
    // t triggers-pending are reported; n not-installed, c config-files, H half-installed are not.
    const expected = new Set<string>();
    for (const [binary = "", name = "", arch = "", version = "", abbrev = ""] of rows) {
      // binary:Package carries ":arch" for Multi-Arch: same packages; the comparison is on the separate fields.
      expect([name, `${name}:${arch}`]).toContain(binary);
      if ("iUFWt".includes(abbrev[1] ?? "-")) expected.add(`${name}\t${arch}\t${version}`);
    }
    const output = await collectDpkgInventory("/", "debian:12");
    const actual = new Set(output.packages.map((p) => `${p.name}\t${p.arch}\t${p.version}`));
    expect(output.packages).toHaveLength(actual.size);
    expect(actual).toEqual(expected);
    expect(actual.size).toBeGreaterThan(100);
    console.info(
      `dpkg comparison: ${rows.length} dpkg-query rows, ${expected.size} present, ${actual.size} collected`,
    );
  });

  it("maps every package to the source dpkg-query names", async () => {
    const rows = await dpkgQuery("Package", "Architecture", "source:Package", "source:Version");
    const expected = new Map(rows.map(([n = "", a = "", sn = "", sv = ""]) => [`${n}\t${a}`, `${sn} ${sv}`]));
    const output = await collectDpkgInventory("/", "debian:12");
    let differing = 0;
    for (const p of output.packages) {
      expect(`${p.sourceName} ${p.sourceVersion}`).toBe(expected.get(`${p.name}\t${p.arch}`));
      if (p.sourceName !== p.name || p.sourceVersion !== p.version) differing++;
    }
    // The machine has packages whose source name or version differs from the binary's.
    expect(differing).toBeGreaterThan(10);
  });
});
