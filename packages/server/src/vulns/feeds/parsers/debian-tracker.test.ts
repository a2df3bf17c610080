import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { AffectedRange, NormalizedAdvisory } from "../model.js";
import { parseDebianTracker } from "./debian-tracker.js";
import { FeedFormatError } from "./errors.js";

const TESTDATA = new URL("./testdata/vunnel/debian/", import.meta.url);

interface VunnelFixedIn {
  Name: string;
  NamespaceName: string;
  Version: string;
}
interface VunnelOsRecord {
  item: {
    Vulnerability: {
      Name: string;
      NamespaceName: string;
      Severity: string;
      Description: string;
      FixedIn: VunnelFixedIn[];
    };
  };
}
interface VunnelSnapshot {
  file: string;
  name: string;
  namespace: string;
  severity: string;
  description: string;
  fixedIn: VunnelFixedIn[];
}

function snapshots(): VunnelSnapshot[] {
  const root = new URL("snapshots/", TESTDATA);
  return readdirSync(root).flatMap((dir) =>
    readdirSync(new URL(`${dir}/`, root)).map((file) => {
      const record: VunnelOsRecord = JSON.parse(readFileSync(new URL(`${dir}/${file}`, root), "utf8"));
      const v = record.item.Vulnerability;
      return {
        file: `${dir}/${file}`,
        name: v.Name,
        namespace: v.NamespaceName,
        severity: v.Severity,
        description: v.Description,
        fixedIn: v.FixedIn,
      };
    }),
  );
}

const parsed = parseDebianTracker(readFileSync(new URL("input/debian.json", TESTDATA), "utf8"));
const byId = new Map(parsed.records.map((a) => [a.id, a]));

function rangeFor(
  advisory: NormalizedAdvisory | undefined,
  release: string,
  pkg: string,
): AffectedRange | undefined {
  return advisory?.affected.find((r) => r.release === release && r.packageName === pkg);
}

describe("parseDebianTracker against vunnel's snapshots", () => {
  const all = snapshots();

  it("gives one advisory per CVE and a range for exactly the (release, CVE) pairs vunnel writes", () => {
    expect(all).toHaveLength(25);
    expect(parsed.records.map((a) => a.id).sort()).toEqual([...new Set(all.map((s) => s.name))].sort());
    const ours = parsed.records.flatMap((a) => a.affected.map((r) => `${r.release} ${a.id}`)).sort();
    expect(ours).toEqual(all.map((s) => `${s.namespace} ${s.name}`).sort());
  });

  it.each(all.map((s) => [s.file, s] as const))("%s", (_file, snapshot) => {
    const advisory = byId.get(snapshot.name);
    const [fixedIn] = snapshot.fixedIn;
    expect(snapshot.fixedIn).toHaveLength(1);
    const range = rangeFor(advisory, snapshot.namespace, fixedIn?.Name ?? "");
    expect(range).toBeDefined();
    // Where we intentionally differ: vunnel writes "0" for never-vulnerable and "None" for no fix;
    // we say not_affected, and affected or end_of_life with fixed null. Vunnel's empty Description
    // is our null. Its Severity is per release; ours is the range's vendorSeverity (the advisory's
    // severity is the highest of them).
    if (fixedIn?.Version === "0") expect(range).toMatchObject({ status: "not_affected", fixed: null });
    else if (fixedIn?.Version === "None") {
      expect(range?.fixed).toBeNull();
      expect(["affected", "end_of_life"]).toContain(range?.status);
    } else expect(range).toMatchObject({ status: "fixed", fixed: fixedIn?.Version });
    expect(range).toMatchObject({ ecosystem: "dpkg", packageScope: "source" });
    expect(advisory?.description ?? "").toBe(snapshot.description);
    const expectedSeverity = snapshot.severity.toLowerCase();
    if (range?.status === "end_of_life")
      expect(range.vendorSeverity).toBeNull(); // "end-of-life" is no severity
    else expect(range?.vendorSeverity).toBe(expectedSeverity);
    // vunnel also joins the DSA list (not part of the tracker JSON); we leave advisoryId null.
    expect(range?.advisoryId).toBeNull();
  });

  it("maps end-of-life urgency to the end_of_life status (chromium in stretch and buster)", () => {
    const advisory = byId.get("CVE-2022-0456");
    expect(rangeFor(advisory, "debian:9", "chromium")).toMatchObject({ status: "end_of_life", fixed: null });
    expect(rangeFor(advisory, "debian:10", "chromium")).toMatchObject({ status: "end_of_life", fixed: null });
    expect(advisory?.severity).toBe("unknown");
  });

  it("counts the issue vunnel drops for having no release data", () => {
    expect(parsed.skipped).toEqual([
      { record: "CVE-2022-0358 chromium-browser", reason: "chromium-browser: no release with usable data" },
    ]);
  });
});

describe("parseDebianTracker edge cases", () => {
  const release = (status: string, extra: Record<string, unknown> = {}) => ({
    status,
    urgency: "low",
    repositories: {},
    ...extra,
  });

  it("merges the packages of one CVE, keeps TEMP ids, and maps every status", () => {
    const { records, skipped } = parseDebianTracker({
      openssl: {
        "CVE-2024-0001": {
          description: "first",
          releases: {
            bookworm: release("resolved", { fixed_version: "3.0.11-1~deb12u2", urgency: "medium" }),
            trixie: release("undetermined"),
            sid: release("open", { nodsa: "Minor issue", nodsa_reason: "ignored" }),
          },
        },
        "TEMP-0000000-1A2B3C": { releases: { bullseye: release("open", { nodsa_reason: "postponed" }) } },
      },
      openssl1: {
        "CVE-2024-0001": {
          releases: { bullseye: release("resolved", { fixed_version: "1.1.1w-0+deb11u1" }) },
        },
      },
    });
    expect(skipped).toEqual([]);
    const cve = records.find((r) => r.id === "CVE-2024-0001");
    expect(cve?.affected.map((r) => [r.packageName, r.release, r.status, r.fixed])).toEqual([
      ["openssl", "debian:12", "fixed", "3.0.11-1~deb12u2"],
      ["openssl", "debian:13", "under_investigation", null],
      ["openssl", "debian:unstable", "will_not_fix", null],
      ["openssl1", "debian:11", "fixed", "1.1.1w-0+deb11u1"],
    ]);
    expect(cve).toMatchObject({ description: "first", severity: "medium", source: "debian-tracker" });
    expect(records.find((r) => r.id === "TEMP-0000000-1A2B3C")?.affected[0]).toMatchObject({
      release: "debian:11",
      status: "fix_deferred",
    });
  });

  it("skips garbage ids, unknown releases, bad versions and wrong types, keeping the good parts", () => {
    const { records, skipped } = parseDebianTracker({
      zlib: {
        "CVE-2024-0002": {
          releases: {
            bookworm: release("resolved", { fixed_version: "1:2:x y" }),
            bullseye: release("resolved", { fixed_version: "1:1.2.11.dfsg-2+deb11u2" }),
            hamm2: release("open"),
            trixie: "resolved",
          },
        },
        "<script>": { releases: {} },
        "CVE-2024-0003": "not an object",
      },
    });
    expect(records.map((r) => [r.id, r.affected.map((a) => a.release)])).toEqual([
      ["CVE-2024-0002", ["debian:11"]],
    ]);
    expect(skipped).toEqual([
      { record: "CVE-2024-0002 zlib/bookworm", reason: "version 1:2:x y is not a valid dpkg version" },
      { record: "CVE-2024-0002 zlib/hamm2", reason: 'zlib/hamm2: unknown Debian release "hamm2"' },
      { record: "CVE-2024-0002 zlib/trixie", reason: "zlib/trixie: expected an object, found a string" },
      { record: "<script> zlib", reason: '"<script>" is not a CVE or TEMP id' },
      { record: "CVE-2024-0003 zlib", reason: "CVE-2024-0003: expected an object, found a string" },
    ]);
  });

  it("refuses a document that is not the tracker's JSON", () => {
    expect(() => parseDebianTracker('{"openssl": {"CVE-2024-0001": ')).toThrow(FeedFormatError);
    expect(() => parseDebianTracker("[]")).toThrow(/expected an object of source packages, found an array/);
    expect(() => parseDebianTracker({ a: 1, b: "x" })).toThrow(/no value is an object of issues/);
  });
});
