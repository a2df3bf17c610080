import { describe, expect, it } from "vitest";
import { parseCpe } from "./cpe.js";
import { timestampOrNull } from "./ids.js";
import { parsePurl } from "./purl.js";
import { boundText, cleanText, decodeFeedText, httpUrls, textOrNull } from "./text.js";

describe("text cleaning", () => {
  it("replaces malformed UTF-8 with U+FFFD instead of failing the file", () => {
    const bytes = new Uint8Array([0x6f, 0x6b, 0xff, 0xfe, 0x21]);
    expect(decodeFeedText(bytes)).toBe("ok\ufffd\ufffd!");
  });

  it("removes NUL and other control characters (PostgreSQL text refuses NUL) and lone surrogates", () => {
    expect(cleanText("  a\u0000b\u0007c\r\nd\te \ud800f  ")).toBe("abc\nd\te \ufffdf");
  });

  it("bounds text at a code point boundary and marks the cut", () => {
    const bounded = boundText(`${"x".repeat(8)}\u{1f600}rest`, 10);
    expect(bounded).toBe(`${"x".repeat(8)}…`);
    expect(bounded.length).toBeLessThanOrEqual(10);
    expect(textOrNull("   ", 10)).toBeNull();
  });

  it("keeps only http(s) URLs, once each", () => {
    expect(
      httpUrls([
        "https://a.example/x",
        "javascript:alert(1)",
        "ftp://b",
        "https://a.example/x",
        "http://c.example",
      ]),
    ).toEqual(["https://a.example/x", "http://c.example"]);
  });
});

describe("timestampOrNull", () => {
  it("reads zone-less times as UTC and normalises offsets", () => {
    expect(timestampOrNull("2022-07-11T13:15:08.503")).toBe("2022-07-11T13:15:08.503Z");
    expect(timestampOrNull("2025-02-20T00:00:00+0000")).toBe("2025-02-20T00:00:00.000Z");
    expect(timestampOrNull("2024-08-22T19:20:09.516938+00:00")).toBe("2024-08-22T19:20:09.516Z");
    expect(timestampOrNull("2024-01-01")).toBe("2024-01-01T00:00:00.000Z");
    expect(timestampOrNull("yesterday")).toBeNull();
    expect(timestampOrNull("2024-13-45")).toBeNull();
  });
});

describe("parseCpe", () => {
  it("unquotes escaped characters in CPE 2.3 names", () => {
    expect(
      parseCpe("cpe:2.3:a:themeisle:wp_maintenance_mode_\\&_coming_soon:*:*:*:*:*:wordpress:*:*"),
    ).toMatchObject({
      part: "a",
      vendor: "themeisle",
      product: "wp_maintenance_mode_&_coming_soon",
      version: null,
    });
    expect(parseCpe("cpe:2.3:a:vendor:prod\\:uct:1.2\\:3:*:*:*:*:*:*:*")).toMatchObject({
      product: "prod:uct",
      version: "1.2:3",
    });
  });

  it("reads CPE 2.2 URIs and refuses other text", () => {
    expect(parseCpe("cpe:/a:csaf-tools:cvrf-csaf-converter:1.0.0-alpha")).toMatchObject({
      vendor: "csaf-tools",
      product: "cvrf-csaf-converter",
      version: "1.0.0-alpha",
    });
    expect(parseCpe("cpe:2.3:a:only:three")).toBeNull();
    expect(parseCpe("cpe:2.3:x:v:p:1:*:*:*:*:*:*:*")).toBeNull();
    expect(parseCpe("not a cpe")).toBeNull();
  });
});

describe("parsePurl", () => {
  it("reads type, namespace, name, version and qualifiers", () => {
    const purl = parsePurl("pkg:rpm/redhat/python3.9@3.9.18-3.el9_4.5?arch=src&epoch=1");
    expect(purl).toMatchObject({
      type: "rpm",
      namespace: "redhat",
      name: "python3.9",
      version: "3.9.18-3.el9_4.5",
    });
    expect(purl?.qualifiers.get("epoch")).toBe("1");
    expect(parsePurl("pkg:golang/github.com/aquasecurity/go-transitive@v4.0.0")).toMatchObject({
      namespace: "github.com/aquasecurity",
      name: "go-transitive",
      version: "v4.0.0",
    });
    expect(parsePurl("pkg:npm/%40angular/core@1.0.0")).toMatchObject({ namespace: "@angular", name: "core" });
    expect(parsePurl("https://example.com")).toBeNull();
  });
});
