/** One row of a `winget list` / `winget upgrade` table. */
export interface WingetRow {
  name: string;
  id: string;
  version: string;
  available: string | null;
  source: string | null;
}

/** The text a console would show last on each line: winget redraws its progress spinner with `\r`. */
function visibleLines(text: string): string[] {
  return text
    .replace(/\r\n/g, "\n")
    .split("\n")
    .map((line) => line.split("\r").pop() ?? "");
}

/**
 * Parses winget's fixed-width tables (`Name  Id  Version  Available  Source`, a line of dashes,
 * then rows) by the header's column offsets. winget pads columns by display width, so a Name with
 * double-width characters makes the rest of its row start earlier in the string: each row's
 * offsets are taken from where its Id actually starts. The table ends at the first blank line or
 * footer ("3 upgrades available.").
 */
export function parseWingetTable(text: string): WingetRow[] {
  const lines = visibleLines(text);
  const headerIndex = lines.findIndex(
    (line, i) => /^Name\s+Id\s+Version\b/.test(line) && /^-{10,}\s*$/.test(lines[i + 1] ?? ""),
  );
  if (headerIndex < 0) return [];
  const header = lines[headerIndex]!;
  const at = (label: string) => {
    const match = new RegExp(`\\s${label}(?=\\s|$)`).exec(header);
    return match ? match.index + 1 : -1;
  };
  const idAt = at("Id");
  const starts = { version: at("Version"), available: at("Available"), source: at("Source") };
  const ordered = [idAt, starts.version, starts.available, starts.source].filter((c) => c >= 0);
  const endOf = (start: number) => ordered.find((c) => c > start);
  const rows: WingetRow[] = [];
  for (const line of lines.slice(headerIndex + 2)) {
    if (line.trim() === "" || /^\d+ (?:upgrades?|packages?)\b/.test(line.trim())) break;
    if (line.length <= idAt) continue;
    // The start of the token at the Id column (to its left after wide characters).
    let idStart = idAt;
    while (idStart > 0 && line[idStart - 1] !== " ") idStart--;
    while (line[idStart] === " ") idStart++;
    const offset = idStart - idAt;
    const field = (start: number) => {
      if (start < 0) return "";
      const end = endOf(start);
      return line.slice(start + offset, end === undefined ? undefined : end + offset).trim();
    };
    const id = field(idAt);
    if (id === "" || /\s/.test(id)) continue;
    const available = field(starts.available);
    const source = field(starts.source);
    rows.push({
      name: line.slice(0, idStart).trim(),
      id,
      version: field(starts.version),
      available: available === "" ? null : available,
      source: source === "" ? null : source,
    });
  }
  return rows;
}
