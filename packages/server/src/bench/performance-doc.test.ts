import { describe, expect, it } from "vitest";
import {
  assemblePerformanceDoc,
  mergeSections,
  NOTES_MARKER,
  parsePerformanceDoc,
  renderSection,
  sectionTargets,
} from "./performance-doc.js";

const NOTES = "## Where the time goes (notes)\n\n- hand-written; must survive every run\n";

function fullRun(): string {
  const foundation = renderSection(
    "foundation",
    {
      markdown: "## HTTPS API\n\n### Results\n\n| a |\n| --- |\n| 1 |",
      targets: [
        { met: false, text: "PostgreSQL, read: NOT met (≥ 2000 req/s, p99 < 50 ms): 852.8 < 2000 req/s" },
        { met: true, text: "PostgreSQL, write: met (≥ 800 req/s, p99 < 50 ms)" },
      ],
      summary: "",
    },
    "Measured on 2026-01-01T00:00:00.000Z by `npm run bench`.",
  );
  const versions = renderSection(
    "versions",
    { markdown: "## Version comparison\n\nold figures", targets: [], summary: "" },
    "Measured on 2026-01-01T00:00:00.000Z by `npm run bench`.",
  );
  return assemblePerformanceDoc("# Performance", [foundation, versions], NOTES);
}

describe("docs/performance.md", () => {
  it("reads back each section, its targets and the notes", () => {
    const doc = parsePerformanceDoc(fullRun());
    expect(doc.notes).toBe(NOTES);
    expect(doc.sections.map((s) => s.name)).toEqual(["foundation", "versions"]);
    const foundation = doc.sections[0];
    expect(foundation && sectionTargets(foundation)).toEqual([
      { met: false, text: "PostgreSQL, read: NOT met (≥ 2000 req/s, p99 < 50 ms): 852.8 < 2000 req/s" },
      { met: true, text: "PostgreSQL, write: met (≥ 800 req/s, p99 < 50 ms)" },
    ]);
  });

  it("rewrites only the suites that ran, and the summary from every section", () => {
    const previous = parsePerformanceDoc(fullRun());
    const fresh = renderSection(
      "versions",
      {
        markdown: "## Version comparison\n\nnew figures",
        targets: [{ met: true, text: "dpkg: met (≥ 1,000,000 comparisons/s per core): 2,000,000/s" }],
        summary: "",
      },
      "Measured later.",
    );
    const sections = mergeSections([fresh], previous.sections, ["foundation", "versions"], false);
    const written = assemblePerformanceDoc("# Performance", sections, previous.notes);

    const again = parsePerformanceDoc(written);
    expect(again.sections[0]).toEqual(previous.sections[0]);
    expect(again.sections[1]?.body).toContain("new figures");
    expect(again.sections[1]?.body).not.toContain("old figures");
    expect(written).toContain("1 of 3 targets are NOT met.");
    expect(written.endsWith(`${NOTES_MARKER}\n\n${NOTES}`)).toBe(true);
  });

  it("keeps another branch's section on a partial run and drops it on a full one", () => {
    const other = { name: "feeds", body: "## Feed ingest" };
    expect(mergeSections([], [other], ["versions"], false)).toEqual([other]);
    expect(mergeSections([], [other], ["versions"], true)).toEqual([]);
  });

  it("reads a file written before the suites had sections: no sections, notes kept", () => {
    const doc = parsePerformanceDoc(`# Performance\n\n## Results\n\n${NOTES_MARKER}\n\n${NOTES}`);
    expect(doc.sections).toEqual([]);
    expect(doc.notes).toBe(NOTES);
  });
});
