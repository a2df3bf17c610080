import { text } from "node:stream/consumers";
import { describe, expect, it } from "vitest";
import { attachment, type CsvColumn, csvStream } from "./csv.js";

interface Row {
  name: string;
  score: number | null;
  kev: boolean;
  at: Date | null;
}

const columns: CsvColumn<Row>[] = [
  { header: "name", value: (r) => r.name },
  { header: "score", value: (r) => r.score },
  { header: "kev", value: (r) => r.kev },
  { header: "at", value: (r) => r.at },
];

async function* pages<T>(...list: T[][]) {
  for (const page of list) yield page;
}

const row = (name: string, score: number | null = 1.5): Row => ({ name, score, kev: false, at: null });

describe("csvStream", () => {
  it("writes a header row, then one CRLF-terminated record per row, across pages", async () => {
    const csv = await text(
      csvStream(
        columns,
        pages(
          [{ name: "openssl", score: 9.8, kev: true, at: new Date("2026-01-02T03:04:05Z") }],
          [row('a, "quoted" name')],
        ),
      ),
    );
    expect(csv).toBe(
      'name,score,kev,at\r\nopenssl,9.8,true,2026-01-02T03:04:05.000Z\r\n"a, ""quoted"" name",1.5,false,\r\n',
    );
  });

  it("quotes a value written over several lines, so it stays one record", async () => {
    const csv = await text(csvStream(columns, pages([row("first line\nsecond line")])));
    expect(csv).toBe('name,score,kev,at\r\n"first line\nsecond line",1.5,false,\r\n');
  });

  it("writes only the header for no rows", async () => {
    expect(await text(csvStream(columns, pages()))).toBe("name,score,kev,at\r\n");
  });

  // CSV injection (OWASP): a cell a spreadsheet would evaluate as a formula is written as text.
  it("neutralises values a spreadsheet would run as a formula, but not negative numbers", async () => {
    const hostile = [
      '=HYPERLINK("http://x")',
      "+1+1",
      "-2+3",
      "@SUM(A1)",
      "\tcmd",
      "\rcmd",
      "＝1+1",
      "safe=1",
    ];
    const csv = await text(csvStream(columns, pages([...hostile.map((h) => row(h)), row("negative", -1.5)])));
    const cells = csv.split("\r\n").slice(1, -1);
    expect(cells).toEqual([
      '"\'=HYPERLINK(""http://x"")",1.5,false,',
      "'+1+1,1.5,false,",
      "'-2+3,1.5,false,",
      "'@SUM(A1),1.5,false,",
      "'\tcmd,1.5,false,",
      '"\'\rcmd",1.5,false,',
      "'＝1+1,1.5,false,",
      "safe=1,1.5,false,",
      "negative,-1.5,false,",
    ]);
  });

  it("ends the download with an error when reading fails, rather than a short file", async () => {
    async function* failing() {
      yield [row("first")];
      throw new Error("database went away");
    }
    await expect(text(csvStream(columns, failing()))).rejects.toThrow("database went away");
  });
});

describe("attachment", () => {
  it("names the file without characters that could break the header", () => {
    expect(attachment('findings "2026".csv')).toBe('attachment; filename="findings__2026_.csv"');
  });
});
