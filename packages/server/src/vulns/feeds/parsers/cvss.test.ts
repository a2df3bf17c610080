import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { cvssV3BaseScore, cvssV4FromSource } from "./cvss.js";

const TESTDATA = new URL("./testdata/", import.meta.url);

function score(vector: string): number | string {
  const result = cvssV3BaseScore(vector);
  return result.ok ? result.score.score : result.problem;
}

/** Every (V3Vector, V3Score) pair Trivy's fixture database carries, per CVE and source. */
function trivyScorePairs(): { label: string; vector: string; expected: number }[] {
  const text = readFileSync(new URL("trivy/integration-fixtures-db/vulnerability.yaml", TESTDATA), "utf8");
  const buckets: {
    pairs: { key: string; value: { CVSS?: Record<string, { V3Vector?: string; V3Score?: number }> } }[];
  }[] = parse(text);
  return (buckets[0]?.pairs ?? []).flatMap(({ key, value }) =>
    Object.entries(value.CVSS ?? {}).flatMap(([source, cvss]) =>
      cvss.V3Vector !== undefined && cvss.V3Score !== undefined
        ? [{ label: `${key} ${source}`, vector: cvss.V3Vector, expected: cvss.V3Score }]
        : [],
    ),
  );
}

describe("cvssV3BaseScore", () => {
  it("scores the specification's reference shapes", () => {
    expect(score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")).toBe(9.8);
    expect(score("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:H/A:N")).toBe(6.5); // NVD, CVE-2022-1576
    expect(score("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N")).toBe(6.1); // scope changed
    expect(score("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H")).toBe(9.9); // PR:L weighs 0.68 when changed
    expect(score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N")).toBe(0); // no impact, no score
    expect(score("CVSS:3.0/AV:L/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N")).toBe(5.1);
  });

  it("ignores temporal and environmental metrics for the base score", () => {
    // bsi-2022-0001 states baseScore 6.1 for this vector.
    expect(score("CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:N/A:L/E:F/RL:O/RC:C")).toBe(6.1);
  });

  it("agrees with every consistent score in Trivy's fixture database (NVD and Red Hat, v3.0 and v3.1)", () => {
    const pairs = trivyScorePairs();
    expect(pairs.length).toBe(64);
    const disagreements = pairs.filter((p) => score(p.vector) !== p.expected);
    // The one disagreement is in the fixture itself: CVE-2022-38177 keeps NVD's real score 7.5
    // (AV:N/…/A:H) beside a vector Trivy's test edited to a local, scope-changed one, which FIRST's
    // formulas score 6.0.
    expect(disagreements.map((d) => [d.label, score(d.vector)])).toEqual([
      ["CVE-2022-38177 nvd", 6],
      ["CVE-2022-38177 redhat", 6],
    ]);
  });

  it("names what is wrong with an unusable vector", () => {
    expect(score("AV:N/AC:L/Au:N/C:P/I:P/A:P")).toMatch(/is not a CVSS v3 vector/);
    expect(score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H")).toMatch(/base metric A missing/);
    expect(score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/A:L")).toMatch(/metric A given twice/);
    expect(score("CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")).toMatch(/AV:Q is not an allowed value/);
    expect(score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/XX:Y")).toMatch(/unknown metric XX/);
  });
});

describe("cvssV4FromSource", () => {
  it("keeps a stated v4 score with its vector and refuses anything it cannot vouch for", () => {
    const vector = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N";
    expect(cvssV4FromSource(vector, 9.3)).toEqual({ score: 9.3, vector });
    expect(cvssV4FromSource(vector, null)).toBeNull();
    expect(cvssV4FromSource(vector, 11)).toBeNull();
    expect(cvssV4FromSource("CVSS:3.1/AV:N", 5)).toBeNull();
  });
});
