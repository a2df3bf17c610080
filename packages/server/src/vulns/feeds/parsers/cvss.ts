/**
 * CVSS v3.0 / v3.1 base scores computed from the vector string, following the FIRST
 * specification (v3.1 §7.1 formulas, Appendix A Roundup). Feeds give the vector but not always the
 * score (OSV), or a score that disagrees with the vector after a rescoring; computing it here gives
 * one consistent number. Temporal and environmental metrics are checked for validity but do not
 * change the base score.
 *
 * CVSS v4.0 is not computed: its score comes from a lookup table of macro vectors plus an
 * interpolation step that we have no peer test vectors for, so a v4 score is only taken when the
 * source states it (NVD, CSAF) and is otherwise left null.
 */
import type { CvssScore } from "../model.js";

const WEIGHTS = {
  AV: { N: 0.85, A: 0.62, L: 0.55, P: 0.2 },
  AC: { L: 0.77, H: 0.44 },
  UI: { N: 0.85, R: 0.62 },
  CIA: { H: 0.56, L: 0.22, N: 0 },
} as const;

/** Every metric a v3 vector may carry, with its allowed values (base, temporal, environmental). */
const METRIC_VALUES: ReadonlyMap<string, readonly string[]> = new Map([
  ["AV", ["N", "A", "L", "P"]],
  ["AC", ["L", "H"]],
  ["PR", ["N", "L", "H"]],
  ["UI", ["N", "R"]],
  ["S", ["U", "C"]],
  ["C", ["H", "L", "N"]],
  ["I", ["H", "L", "N"]],
  ["A", ["H", "L", "N"]],
  ["E", ["X", "H", "F", "P", "U"]],
  ["RL", ["X", "U", "W", "T", "O"]],
  ["RC", ["X", "C", "R", "U"]],
  ["CR", ["X", "H", "M", "L"]],
  ["IR", ["X", "H", "M", "L"]],
  ["AR", ["X", "H", "M", "L"]],
  ["MAV", ["X", "N", "A", "L", "P"]],
  ["MAC", ["X", "L", "H"]],
  ["MPR", ["X", "N", "L", "H"]],
  ["MUI", ["X", "N", "R"]],
  ["MS", ["X", "U", "C"]],
  ["MC", ["X", "H", "L", "N"]],
  ["MI", ["X", "H", "L", "N"]],
  ["MA", ["X", "H", "L", "N"]],
]);
const BASE_METRICS = ["AV", "AC", "PR", "UI", "S", "C", "I", "A"] as const;

export type CvssV3Result =
  | { ok: true; score: CvssScore; version: "3.0" | "3.1" }
  | { ok: false; problem: string };

/** v3.1 Appendix A: round up to one decimal, working in integers to avoid 4.000000001 → 4.1. */
function roundUp31(value: number): number {
  const intInput = Math.round(value * 100_000);
  return intInput % 10_000 === 0 ? intInput / 100_000 : (Math.floor(intInput / 10_000) + 1) / 10;
}

/** v3.0 rounds up naively; kept so v3.0 vectors score exactly as NVD scored them. */
function roundUp30(value: number): number {
  return Math.ceil(value * 10) / 10;
}

function parseMetrics(vector: string): Map<string, string> | string {
  const parts = vector.split("/");
  const metrics = new Map<string, string>();
  for (const part of parts.slice(1)) {
    const [name, value, extra] = part.split(":");
    if (name === undefined || value === undefined || extra !== undefined) return `malformed metric "${part}"`;
    const allowed = METRIC_VALUES.get(name);
    if (allowed === undefined) return `unknown metric ${name}`;
    if (!allowed.includes(value)) return `${name}:${value} is not an allowed value`;
    if (metrics.has(name)) return `metric ${name} given twice`;
    metrics.set(name, value);
  }
  for (const name of BASE_METRICS) if (!metrics.has(name)) return `base metric ${name} missing`;
  return metrics;
}

function weight<T extends Record<string, number>>(table: T, value: string): number {
  return Object.hasOwn(table, value) ? (table[value] ?? 0) : 0;
}

/** The base score of a `CVSS:3.0/…` or `CVSS:3.1/…` vector, or why the vector is unusable. */
export function cvssV3BaseScore(input: string): CvssV3Result {
  const vector = input.trim();
  const prefix = /^CVSS:(3\.[01])\//.exec(vector);
  if (prefix === null) return { ok: false, problem: `"${vector.slice(0, 60)}" is not a CVSS v3 vector` };
  const version = prefix[1] === "3.0" ? "3.0" : "3.1";
  const metrics = parseMetrics(vector);
  if (typeof metrics === "string")
    return { ok: false, problem: `CVSS vector ${vector.slice(0, 120)}: ${metrics}` };
  const get = (name: string): string => metrics.get(name) ?? "";

  const changed = get("S") === "C";
  const pr = get("PR");
  const privileges = pr === "N" ? 0.85 : pr === "L" ? (changed ? 0.68 : 0.62) : changed ? 0.5 : 0.27;
  const iss =
    1 -
    (1 - weight(WEIGHTS.CIA, get("C"))) *
      (1 - weight(WEIGHTS.CIA, get("I"))) *
      (1 - weight(WEIGHTS.CIA, get("A")));
  const impact = changed ? 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15 : 6.42 * iss;
  const exploitability =
    8.22 *
    weight(WEIGHTS.AV, get("AV")) *
    weight(WEIGHTS.AC, get("AC")) *
    privileges *
    weight(WEIGHTS.UI, get("UI"));
  const roundUp = version === "3.0" ? roundUp30 : roundUp31;
  let score = 0;
  if (impact > 0) {
    score = changed
      ? roundUp(Math.min(1.08 * (impact + exploitability), 10))
      : roundUp(Math.min(impact + exploitability, 10));
  }
  return { ok: true, version, score: { score, vector } };
}

/** A v4.0 vector with the score its source states; null when either is missing or malformed. */
export function cvssV4FromSource(vector: string | null, score: number | null): CvssScore | null {
  if (vector === null || score === null) return null;
  const text = vector.trim();
  if (!/^CVSS:4\.0(\/[A-Za-z]+:[A-Za-z])+$/.test(text) || !(score >= 0 && score <= 10)) return null;
  return { score, vector: text };
}
