import { describe, expect, it } from "vitest";
import { riskScore, severityFromCvss, slaDays } from "./risk.js";

describe("risk", () => {
  it("rates CVSS scores as FIRST's table does", () => {
    expect([9.8, 9, 8.9, 7, 6.9, 4, 3.9, 0.1, 0, null].map(severityFromCvss)).toEqual([
      "critical",
      "critical",
      "high",
      "high",
      "medium",
      "medium",
      "low",
      "low",
      "negligible",
      "unknown",
    ]);
  });

  it("puts exploited vulnerabilities on important devices first", () => {
    const kevCritical = riskScore({
      cvss: 9.8,
      severity: "critical",
      epssPercentile: 0.1,
      kev: true,
      criticality: "critical",
    });
    const unexploited = riskScore({
      cvss: 9.8,
      severity: "critical",
      epssPercentile: 0.01,
      kev: false,
      criticality: "low",
    });
    const likelyMedium = riskScore({
      cvss: 6.5,
      severity: "medium",
      epssPercentile: 0.99,
      kev: false,
      criticality: "medium",
    });
    expect(kevCritical).toBe(100);
    expect(unexploited).toBe(39.6); // 98 × 0.505 × 0.8
    expect(likelyMedium).toBe(64.7); // 65 × 0.995 × 1
    expect(
      riskScore({ cvss: null, severity: "high", epssPercentile: null, kev: false, criticality: "medium" }),
    ).toBe(56.3);
  });

  it("gives critical and high 14 days by default, and follows an organisation's settings", () => {
    expect(slaDays("critical")).toBe(14);
    expect(slaDays("high")).toBe(14);
    expect(slaDays("medium")).toBe(30);
    expect(slaDays("negligible")).toBe(90);
    expect(slaDays("high", { critical: 7, high: 10, medium: 45, low: 120 })).toBe(10);
  });
});
