/** The vendors' severity words mapped onto the model's scale. */
import type { Severity } from "../model.js";

const WORDS: ReadonlyMap<string, Severity> = new Map([
  ["critical", "critical"],
  ["high", "high"],
  ["important", "high"], // Red Hat, Microsoft
  ["medium", "medium"],
  ["moderate", "medium"], // GitHub, Red Hat, Microsoft
  ["low", "low"],
  ["negligible", "negligible"], // Ubuntu
  ["unimportant", "negligible"], // Debian
  ["none", "negligible"], // CVSS "NONE" (score 0.0)
  ["unknown", "unknown"],
  ["not yet assigned", "unknown"], // Debian: triage has not rated it yet
  ["untriaged", "unknown"], // Ubuntu
]);

/**
 * The model's severity for a vendor's word, case-insensitively; Debian's trailing `**` (urgency
 * guessed from NVD rather than set by the security team) is ignored. Null for words with no
 * severity meaning (Debian's "end-of-life", which is a status) and unknown words.
 */
export function severityFromWord(word: string | null | undefined): Severity | null {
  if (typeof word !== "string") return null;
  const key = word.trim().replace(/\*+$/, "").trim().toLowerCase();
  return WORDS.get(key) ?? null;
}

const ORDER: readonly Severity[] = ["unknown", "negligible", "low", "medium", "high", "critical"];

/** The highest of the given severities ("unknown" only when nothing better is known), or null. */
export function highestSeverity(severities: Iterable<Severity | null>): Severity | null {
  let best: Severity | null = null;
  for (const s of severities) {
    if (s !== null && (best === null || ORDER.indexOf(s) > ORDER.indexOf(best))) best = s;
  }
  return best;
}
