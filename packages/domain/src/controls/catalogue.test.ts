import { describe, expect, it } from "vitest";
import { evidenceFor, FRAMEWORKS, frameworkById } from "./catalogue.js";
import { EVIDENCE_QUERY_IDS } from "./evidence-queries.js";

const ids = (framework: string) => frameworkById(framework)?.controls.map((c) => c.id) ?? [];

describe("control catalogue", () => {
  it("lists the controls each framework must cover", () => {
    expect(ids("iso27001-2022")).toEqual(
      [
        "5.15",
        "5.17",
        "5.18",
        "5.23",
        "5.28",
        "8.2",
        "8.5",
        "8.7",
        "8.8",
        "8.9",
        "8.13",
        "8.15",
        "8.16",
        "8.19",
        "8.24",
        "8.32",
      ].map((n) => `A.${n}`),
    );
    expect(ids("soc2")).toEqual(["CC6.1", "CC6.2", "CC6.3", "CC6.6", "CC7.1", "CC7.2", "CC8.1", "A1.2"]);
    expect(ids("nis2")).toEqual("abcdefghij".split("").map((l) => `21(2)(${l})`));
    expect(ids("cyber-essentials")).toHaveLength(4);
    expect(ids("cis-v8")).toEqual(["CIS 1", "CIS 2", "CIS 4", "CIS 6", "CIS 7", "CIS 8", "CIS 11"]);
    expect(ids("gdpr-art32").length).toBeGreaterThan(0);
  });

  it("maps every control to at least one known evidence query, and has unique ids", () => {
    expect(new Set(FRAMEWORKS.map((f) => f.id)).size).toBe(FRAMEWORKS.length);
    for (const framework of FRAMEWORKS) {
      expect(new Set(framework.controls.map((c) => c.id)).size, framework.id).toBe(framework.controls.length);
      for (const control of framework.controls) {
        expect(control.evidence.length, control.id).toBeGreaterThan(0);
        for (const q of control.evidence) expect(EVIDENCE_QUERY_IDS).toContain(q);
      }
      expect(evidenceFor(framework).length).toBe(new Set(evidenceFor(framework)).size);
    }
  });

  it("evidences access control with MFA coverage and backup controls with backups and restore tests", () => {
    const evidenceOf = (framework: string, control: string) =>
      frameworkById(framework)?.controls.find((c) => c.id === control)?.evidence ?? [];
    for (const [framework, control] of [
      ["iso27001-2022", "A.5.17"],
      ["iso27001-2022", "A.8.5"],
      ["soc2", "CC6.1"],
      ["nis2", "21(2)(j)"],
      ["cyber-essentials", "CE-UAC"],
      ["cis-v8", "CIS 6"],
    ] as const)
      expect(evidenceOf(framework, control), `${framework} ${control}`).toContain("mfa_coverage");
    for (const [framework, control] of [
      ["iso27001-2022", "A.8.13"],
      ["soc2", "A1.2"],
      ["nis2", "21(2)(c)"],
      ["gdpr-art32", "32(1)(c)"],
      ["cis-v8", "CIS 11"],
    ] as const)
      expect(evidenceOf(framework, control), `${framework} ${control}`).toEqual(
        expect.arrayContaining(["backups", "restore_tests"]),
      );
  });

  it("knows no framework it does not list", () => {
    expect(frameworkById("iso9001")).toBeUndefined();
    expect(frameworkById("__proto__")).toBeUndefined();
  });
});
