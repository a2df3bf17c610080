/**
 * docs/performance.md as `npm run bench` writes it: a header, a summary of every suite's targets,
 * one section per suite between `<!-- suite:NAME -->` and `<!-- /suite:NAME -->` lines, then the
 * hand-written notes. A run of some suites rewrites their sections and keeps the others as they are,
 * so each section records its own date and its targets (as a task list that can be read back).
 */
import os from "node:os";
import type { SuiteReport, TargetVerdict } from "./suite.js";

/** The lines after this one are hand-written notes, kept across runs. */
export const NOTES_MARKER = "<!-- notes below are kept by npm run bench -->";
const TARGETS_HEADING = "### Targets";

export interface Section {
  name: string;
  /** The markdown between the markers, starting with the suite's `## ` heading. */
  body: string;
}

export interface PreviousDoc {
  sections: Section[];
  notes: string;
}

/** The suites' sections and the notes of an existing file ("" when there is none). */
export function parsePerformanceDoc(previous: string): PreviousDoc {
  // The marker on a line of its own; the header also names it, inside a sentence.
  const at = previous.indexOf(`\n${NOTES_MARKER}\n`);
  const generated = at >= 0 ? previous.slice(0, at + 1) : previous;
  const notes = at >= 0 ? previous.slice(at + NOTES_MARKER.length + 2).replace(/^\n+/, "") : "";
  const sections: Section[] = [];
  for (const match of generated.matchAll(/^<!-- suite:([\w-]+) -->\n([\s\S]*?)\n<!-- \/suite:\1 -->$/gm)) {
    const [, name, body] = match;
    if (name !== undefined && body !== undefined) sections.push({ name, body: body.trim() });
  }
  return { sections, notes };
}

/** A fresh section: the suite's markdown, the date and command under its heading, its targets last. */
export function renderSection(name: string, report: SuiteReport, measured: string): Section {
  const [heading = "", ...rest] = report.markdown.trim().split("\n");
  if (!heading.startsWith("## "))
    throw new Error(`suite ${name}: its markdown must start with a "## " heading`);
  const targets =
    report.targets.length === 0
      ? ["None measured in this run."]
      : report.targets.map((t) => targetLine({ met: t.met, text: t.text.replace(/\s*\n\s*/g, " ") }));
  const body = [heading, "", measured, "", rest.join("\n").trim(), "", TARGETS_HEADING, "", ...targets];
  return { name, body: body.join("\n") };
}

/** A task-list item: rendered as a ticked or empty box, and read back by sectionTargets. */
function targetLine(target: TargetVerdict): string {
  return `- [${target.met ? "x" : " "}] ${target.text}`;
}

/** The target lines a section records under its `### Targets` heading. */
export function sectionTargets(section: Section): TargetVerdict[] {
  const lines = section.body.split("\n");
  const start = lines.lastIndexOf(TARGETS_HEADING);
  if (start < 0) return [];
  const targets: TargetVerdict[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith("#")) break;
    const item = /^- \[([ x])\] (.+)$/.exec(line);
    if (item?.[2]) targets.push({ met: item[1] === "x", text: item[2] });
  }
  return targets;
}

export function sectionTitle(section: Section): string {
  const heading = section.body.split("\n").find((line) => line.startsWith("## "));
  return heading ? heading.slice(3).trim() : section.name;
}

/** `## Targets`: every section's target lines, grouped by suite, with a count of those missed. */
export function targetsSummary(sections: Section[]): string {
  const out = ["## Targets", ""];
  let total = 0;
  let missed = 0;
  for (const section of sections) {
    const targets = sectionTargets(section);
    out.push(`**${sectionTitle(section)}** (\`${section.name}\`)`, "");
    if (targets.length === 0) out.push("- none measured", "");
    for (const t of targets) out.push(targetLine(t));
    if (targets.length > 0) out.push("");
    total += targets.length;
    missed += targets.filter((t) => !t.met).length;
  }
  if (total === 0) out.push("No targets were measured.");
  else
    out.push(missed === 0 ? `All ${total} targets are met.` : `${missed} of ${total} targets are NOT met.`);
  return out.join("\n");
}

/** The whole file: header, targets summary, the sections in their markers, the notes marker and notes. */
export function assemblePerformanceDoc(header: string, sections: Section[], notes: string): string {
  const parts = [header.trim(), targetsSummary(sections)];
  // Blank lines around the markers keep them out of the markdown next to them (a list's last item).
  for (const s of sections) parts.push(`<!-- suite:${s.name} -->\n\n${s.body}\n\n<!-- /suite:${s.name} -->`);
  return `${parts.join("\n\n")}\n\n${NOTES_MARKER}\n\n${notes}`;
}

export interface HeaderFacts {
  date: Date;
  /** The command as typed, e.g. "npm run bench -- foundation versions". */
  command: string;
  /** Titles of the suites this run measured. */
  measured: string[];
  /** The PostgreSQL server of the last scratch database made, or null when none was. */
  postgres: { serverVersion: string; durability: string } | null;
}

/** When, how and on what machine: the file's header, rewritten by every run. */
export function performanceHeader(facts: HeaderFacts): string {
  const { postgres } = facts;
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  return [
    "# Performance",
    "",
    `Written by \`${facts.command}\` (packages/server/src/bench/run.ts) on ${facts.date.toISOString()}, which ` +
      `measured: ${facts.measured.join("; ") || "nothing"}. Each suite's section lies between ` +
      "`<!-- suite:NAME -->` lines and says when it was measured; `npm run bench -- NAME` rewrites " +
      "only the sections named and keeps the others.",
    "The figures are as measured: rates are cut down and latencies rounded up, never the other way.",
    `Everything above the line \`${NOTES_MARKER}\` is rewritten by every run; notes below it are kept.`,
    "",
    "## Machine",
    "",
    `- CPUs (nproc): ${os.availableParallelism()} (${cpu})`,
    `- Memory: ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    `- Node.js: ${process.version} on ${os.platform()} ${os.release()}`,
    postgres
      ? `- PostgreSQL server: ${postgres.serverVersion} (\`SHOW server_version\`)` +
        (postgres.durability ? `; ${postgres.durability}` : "")
      : "- PostgreSQL server: no scratch database was made by this run",
  ].join("\n");
}

/**
 * The sections to write, in suite order: the fresh one, else the previous file's. Sections whose name
 * is not a suite here (another branch's) are kept after them on a partial run and dropped by a full one.
 */
export function mergeSections(
  fresh: Section[],
  previous: Section[],
  suiteNames: string[],
  fullRun: boolean,
): Section[] {
  const known = suiteNames.flatMap((name) => {
    const section = fresh.find((s) => s.name === name) ?? previous.find((s) => s.name === name);
    return section ? [section] : [];
  });
  const foreign = fullRun ? [] : previous.filter((s) => !suiteNames.includes(s.name));
  return [...known, ...foreign];
}
