/**
 * The versions suite: how many version comparisons per second one core gets from each ecosystem's
 * comparator (version-compare.ts), the inner loop of matching inventories against advisories.
 */
import os from "node:os";
import { type Alignment, markdownTable, textTable, wholeRate } from "../common/format.js";
import type { BenchContext, Suite, SuiteReport, TargetVerdict } from "../suite.js";
import {
  benchVersionComparisons,
  MEASURE_MS,
  PAIRS,
  type VersionCompareResult,
  WARMUP_MS,
} from "./version-compare.js";

const TITLE = "Version comparison";
/** Comparisons per second on one core, for the ecosystems that have a target. */
const TARGETS = new Map([["dpkg", 1_000_000]]);

function goal(want: number): string {
  return `≥ ${wholeRate(want)} comparisons/s per core`;
}

/** "met (≥ …): 3,456,789/s", or null for an ecosystem without a target. */
function judge(ecosystem: string, comparisonsPerSecond: number | null): TargetVerdict | null {
  const want = TARGETS.get(ecosystem);
  if (want === undefined) return null;
  if (comparisonsPerSecond === null) return { met: false, text: `NOT met (${goal(want)}): not measured` };
  const met = comparisonsPerSecond >= want;
  return { met, text: `${met ? "met" : "NOT met"} (${goal(want)}): ${wholeRate(comparisonsPerSecond)}/s` };
}

function rows(results: VersionCompareResult[]): string[][] {
  return results.map((r) => [
    r.ecosystem,
    r.pairs.toLocaleString("en-US"),
    wholeRate(r.comparisonsPerSecond),
    judge(r.ecosystem, r.comparisonsPerSecond)?.text ?? "no target",
  ]);
}

const HEADER = ["Ecosystem", "Pairs", "Comparisons/s (one core)", "Target"];
const ALIGN: Alignment[] = ["left", "right", "right", "left"];

async function run(context: BenchContext): Promise<SuiteReport> {
  const loadAverage = os.loadavg()[0] ?? 0;
  context.say(`${TITLE}: ${WARMUP_MS} ms warm-up + ${MEASURE_MS} ms per ecosystem`);
  const results = await benchVersionComparisons();
  for (const r of results)
    context.say(`  ${r.ecosystem}: ${wholeRate(r.comparisonsPerSecond)} comparisons/s`);

  const targets = [...TARGETS.keys()].flatMap((ecosystem) => {
    const measured = results.find((r) => r.ecosystem === ecosystem);
    const verdict = judge(ecosystem, measured?.comparisonsPerSecond ?? null);
    return verdict ? [{ met: verdict.met, text: `${ecosystem}: ${verdict.text}` }] : [];
  });
  const markdown = [
    `## ${TITLE}`,
    "",
    "### Method",
    "",
    "- `benchVersionComparisons()` (packages/server/src/bench/versions/version-compare.ts): for each " +
      "ecosystem, the comparator from `comparatorFor()` (@patchpilot/domain) runs over a fixed list of " +
      `${PAIRS.toLocaleString("en-US")} version pairs in a loop on the bench process's main thread, so on ` +
      `one core: a ${WARMUP_MS} ms warm-up (not reported), then whole passes over the list until ` +
      `${MEASURE_MS} ms have passed. Comparisons/s is the comparisons made over the elapsed time, cut down ` +
      "to a whole number.",
    "- The pairs are the same on every run (seeded): **dpkg** and **apk** take half their pairs from " +
      "neighbouring versions of one package in the osv-scanner fixtures (`debian-versions-generated.txt`, " +
      "`alpine-versions-generated.txt`) and half at random from all of the fixture's versions; **rpm** " +
      "uses the Debian strings as RPM EVRs (same shape); **semver** draws pairs from 4,000 npm-style " +
      "versions, a quarter of them pre-releases.",
    "- The length is fixed by version-compare.ts; BENCH_DURATION_SECONDS does not apply.",
    ...[...TARGETS].map(([ecosystem, want]) => `- Target: ${ecosystem} ${goal(want)}.`),
    "",
    "### Results",
    "",
    markdownTable(HEADER, ALIGN, rows(results)),
    "",
    `One-minute load average before the run (other work on the machine skews the figures): ${loadAverage.toFixed(2)}.`,
  ].join("\n");
  return { markdown, targets, summary: textTable(HEADER, ALIGN, rows(results)) };
}

export const versionsSuite: Suite = { name: "versions", title: TITLE, run };
