import { Readable } from "node:stream";
import { stringify as stringifySync } from "csv-stringify/sync";

export type CsvValue = string | number | boolean | Date | null;

export interface CsvColumn<T> {
  header: string;
  value(row: T): CsvValue;
}

/**
 * A CSV download (RFC 4180: CRLF line ends, a header row) streamed from pages of rows, so a large
 * export holds one page in memory, not the whole result. Values are exported data, not formulas:
 * a text value a spreadsheet would run (one that begins with `=`, `+`, `-`, `@`, a tab or a carriage
 * return, or their full-width forms) gets a leading `'` (OWASP "CSV injection"); csv-stringify's
 * `escape_formulas` does that, and leaves negative numbers alone.
 */
function csvOptions<T>(columns: readonly CsvColumn<T>[]) {
  return {
    header: true,
    columns: columns.map((c, i) => ({ key: String(i), header: c.header })),
    escape_formulas: true,
    record_delimiter: "windows" as const,
    // Quote any value holding a CR or LF (a reason written over several lines), not only CRLF:
    // csv-stringify stops doing so once the delimiter is set, and a bare LF would split the record.
    quote_record_delimiter: true,
    cast: {
      boolean: (value: boolean) => (value ? "true" : "false"),
      date: (value: Date) => value.toISOString(),
    },
  };
}

export function csvStream<T>(columns: readonly CsvColumn<T>[], pages: AsyncIterable<readonly T[]>): Readable {
  const options = csvOptions(columns);
  // A page becomes one chunk of text: stringifying row by row through a stream costs more than
  // reading the rows from the database.
  async function* chunks() {
    let header = true;
    for await (const page of pages) {
      if (page.length === 0) continue;
      yield stringifySync(
        page.map((row) => columns.map((c) => c.value(row))),
        { ...options, header },
      );
      header = false;
    }
    if (header) yield stringifySync([], options);
  }
  // A failure while reading ends the download with an error (the client sees a cut transfer),
  // never with a well-formed file that silently lacks rows.
  return Readable.from(chunks(), { objectMode: false });
}

/** The same CSV as a string, for files built in memory (an evidence pack's per-control rows). */
export function csvText<T>(columns: readonly CsvColumn<T>[], rows: readonly T[]): string {
  return stringifySync(
    rows.map((row) => columns.map((c) => c.value(row))),
    csvOptions(columns),
  );
}

/** A value for `content-disposition`: the file name is ours (ASCII), never taken from the request. */
export function attachment(fileName: string): string {
  return `attachment; filename="${fileName.replace(/[^A-Za-z0-9._-]/g, "_")}"`;
}
