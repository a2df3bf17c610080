/** How the bench shows figures: always cut towards the unflattering side (rates down, latencies up). */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

/** A rate per second, cut down to one decimal. */
export function rate(perSecond: number): string {
  return (Math.floor(perSecond * 10) / 10).toFixed(1);
}

/** A rate per second, cut down to a whole number, with thousands separators (1,234,567). */
export function wholeRate(perSecond: number): string {
  return Math.floor(perSecond).toLocaleString("en-US");
}

/** A latency in milliseconds, rounded up to two decimals. */
export function ms(value: number): string {
  return Number.isNaN(value) ? "n/a" : (Math.ceil(value * 100) / 100).toFixed(2);
}

export function say(text: string): void {
  process.stdout.write(`${text}\n`);
}

export type Alignment = "left" | "right";

/** A markdown table; `align` gives each column's alignment (numbers to the right). */
export function markdownTable(header: string[], align: Alignment[], rows: string[][]): string {
  const rule = header.map((_, i) => (align[i] === "right" ? "---:" : "---"));
  return [header, rule, ...rows].map((row) => `| ${row.join(" | ")} |`).join("\n");
}

/** A plain-text table for the terminal, columns padded to their widest cell. */
export function textTable(header: string[], align: Alignment[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length)));
  const line = (row: string[]) =>
    row
      .map((cell, i) => (align[i] === "right" ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

const require = createRequire(import.meta.url);

/** An installed package's version, or "unknown". */
export function packageVersion(name: string): string {
  const direct = tryResolve(`${name}/package.json`);
  if (direct) return readPackage(direct)?.version ?? "unknown";
  // Packages whose "exports" hide package.json (PGlite): look upwards from the entry point.
  const entry = tryResolve(name);
  for (
    let dir = entry ? path.dirname(entry) : "";
    dir && dir !== path.dirname(dir);
    dir = path.dirname(dir)
  ) {
    const found = readPackage(path.join(dir, "package.json"));
    if (found?.name === name) return found.version;
  }
  return "unknown";
}

function tryResolve(specifier: string): string | null {
  try {
    return require.resolve(specifier);
  } catch {
    return null;
  }
}

function readPackage(file: string): { name: string; version: string } | null {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, "utf8"));
    if (typeof parsed !== "object" || parsed === null) return null;
    const { name, version } = parsed as { name?: unknown; version?: unknown };
    return typeof name === "string" && typeof version === "string" ? { name, version } : null;
  } catch {
    return null;
  }
}
