/**
 * RFC 4180 CSV: fields separated by commas, optionally in double quotes, a quote inside a quoted
 * field written twice, line breaks allowed inside quotes. A single pass over the text with no
 * regular expressions, so a stray quote cannot make it backtrack.
 */

export interface CsvRow {
  /** 1-based line number where the row starts, for skip reports. */
  line: number;
  fields: string[];
  /** Set when the row ended inside an unterminated quoted field. */
  unterminated: boolean;
}

export function* csvRows(text: string): Generator<CsvRow> {
  const length = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  while (i < length) {
    const start = line;
    const fields: string[] = [];
    let field = "";
    let quoted = false;
    let unterminated = false;
    for (;;) {
      if (i >= length) {
        unterminated = quoted;
        fields.push(field);
        break;
      }
      const c = text[i];
      if (quoted) {
        if (c === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
          } else {
            quoted = false;
            i++;
          }
        } else {
          if (c === "\n") line++;
          field += c;
          i++;
        }
      } else if (c === '"' && field === "") {
        quoted = true;
        i++;
      } else if (c === ",") {
        fields.push(field);
        field = "";
        i++;
      } else if (c === "\n" || c === "\r") {
        fields.push(field);
        i += c === "\r" && text[i + 1] === "\n" ? 2 : 1;
        line++;
        break;
      } else {
        field += c;
        i++;
      }
    }
    // A blank line is not a row.
    if (fields.length === 1 && fields[0] === "" && !unterminated) continue;
    yield { line: start, fields, unterminated };
  }
}
