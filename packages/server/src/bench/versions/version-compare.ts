/**
 * Version-comparison throughput per ecosystem, on one core: how many comparisons per second a
 * matching loop gets from comparatorFor(). The pairs are realistic and the same on every run: a
 * seeded sample of the published Debian and Alpine fixtures (versions of one package next to each
 * other, and random pairs across packages), the Debian strings reused as RPM EVRs (same shape),
 * and npm-style SemVer strings from the same seeded generator.
 */
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { comparatorFor, type VersionEcosystem } from "@patchpilot/domain";

export interface VersionCompareResult {
  ecosystem: string;
  pairs: number;
  comparisonsPerSecond: number;
}

const FIXTURES = new URL("../../../../domain/src/versions/testdata/osv-scanner/", import.meta.url);
// Exported so the suite's report states the method from the same numbers.
export const PAIRS = 20_000;
export const WARMUP_MS = 500;
export const MEASURE_MS = 2000;

type Pair = readonly [string, string];

/** mulberry32: a seeded generator returning integers below n. */
function seeded(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/** The fixture's `a <op> b` pairs (neighbouring versions of one package). */
function fixturePairs(file: string): Pair[] {
  const pairs: Pair[] = [];
  for (const line of readFileSync(new URL(file, FIXTURES), "utf8").split("\n")) {
    const [a, op, b] = line.split(" ");
    if (a !== undefined && b !== undefined && (op === "<" || op === "=" || op === ">")) pairs.push([a, b]);
  }
  return pairs;
}

/** Half neighbouring pairs from the fixture, half random pairs of its versions. */
function sample(file: string, seed: number): Pair[] {
  const random = seeded(seed);
  const neighbours = fixturePairs(file);
  const versions = neighbours.flat();
  return Array.from({ length: PAIRS }, (_, i): Pair => {
    if (i % 2 === 0) return neighbours[random(neighbours.length)] ?? ["0", "0"];
    return [versions[random(versions.length)] ?? "0", versions[random(versions.length)] ?? "0"];
  });
}

/** Pairs drawn from a pool of 4,000 npm-style versions, about the distinct versions of a large lockfile. */
function semverSample(seed: number): Pair[] {
  const random = seeded(seed);
  const pool = Array.from({ length: 4000 }, (): string => {
    const core = `${random(5)}.${random(30)}.${random(40)}`;
    if (random(4) !== 0) return core;
    return `${core}-${["alpha", "beta", "rc"][random(3)]}.${random(12)}`;
  });
  return Array.from(
    { length: PAIRS },
    (): Pair => [pool[random(pool.length)] ?? "0.0.0", pool[random(pool.length)] ?? "0.0.0"],
  );
}

/** Runs the comparator over the pairs for about `ms` milliseconds; returns comparisons per second. */
function measure(ecosystem: VersionEcosystem, pairs: readonly Pair[], ms: number): number {
  const comparator = comparatorFor(ecosystem);
  let comparisons = 0;
  let checksum = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (const [a, b] of pairs) checksum += comparator.compare(a, b);
    comparisons += pairs.length;
    elapsed = performance.now() - start;
  }
  // The checksum keeps the loop observable, so the JIT cannot drop the comparisons.
  if (!Number.isFinite(checksum)) throw new Error("unreachable");
  // Cut down, never up, like every rate the bench reports.
  return Math.floor(comparisons / (elapsed / 1000));
}

export async function benchVersionComparisons(): Promise<VersionCompareResult[]> {
  const workloads: Array<[VersionEcosystem, Pair[]]> = [
    ["dpkg", sample("debian-versions-generated.txt", 1)],
    ["rpm", sample("debian-versions-generated.txt", 2)],
    ["apk", sample("alpine-versions-generated.txt", 3)],
    ["semver", semverSample(4)],
  ];
  const results: VersionCompareResult[] = [];
  for (const [ecosystem, pairs] of workloads) {
    measure(ecosystem, pairs, WARMUP_MS);
    results.push({
      ecosystem,
      pairs: pairs.length,
      comparisonsPerSecond: measure(ecosystem, pairs, MEASURE_MS),
    });
    // Yield between workloads so a caller's timers and I/O are not starved for the whole run (~10 s).
    await new Promise((resolve) => setImmediate(resolve));
  }
  return results;
}
