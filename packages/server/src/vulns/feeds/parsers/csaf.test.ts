import { readFileSync } from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { describe, expect, it } from "vitest";
import { parseCsafDocument } from "./csaf.js";
import { FeedFormatError } from "./errors.js";
import { parseRpmProductId } from "./vendor-redhat.js";

const TESTDATA = new URL("./testdata/", import.meta.url);
const readJson = (path: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(path, TESTDATA), "utf8"));
const EXAMPLES = "csaf/csaf_2.0/examples/csaf/";
const MSRC_FIXTURE = "patchpilot/msrc-windows-kb-csaf.json";

/**
 * The CSAF 2.0 schema (draft 2020-12). It refers to FIRST's CVSS schemas by URL; offline, those are
 * replaced by stand-ins that check what tells v3.0 from v3.1 (so the schema's oneOf still decides)
 * and the fields the parser reads.
 */
function csafValidator() {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  for (const version of ["2.0", "3.0", "3.1"]) {
    ajv.addSchema({
      $id: `https://www.first.org/cvss/cvss-v${version}.json`,
      type: "object",
      required: ["version", "vectorString", "baseScore"],
      properties: {
        version: { const: version },
        vectorString: { type: "string" },
        baseScore: { type: "number", minimum: 0, maximum: 10 },
      },
    });
  }
  return ajv.compile(readJson("csaf/csaf_2.0/json_schema/csaf_json_schema.json"));
}

describe("parseCsafDocument: Red Hat", () => {
  it("maps RHSA-2024:6163 to an rpm range for rhel:9 from the purl of the default component", () => {
    const { records, skipped } = parseCsafDocument(
      readJson("vunnel/rhel/csaf/advisories/2024/rhsa-2024_6163.json"),
    );
    expect(skipped).toEqual([]);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      source: "csaf",
      id: "RHSA-2024:6163/CVE-2024-8088",
      aliases: ["CVE-2024-8088"],
      summary: "python: cpython: Iterating over a malicious ZIP file may lead to Denial of Service",
      cvssV3: { score: 5.3, vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:N/I:N/A:H" },
      severity: "medium",
      cwes: ["CWE-835"],
      publishedAt: "2024-08-22T19:15:09.720Z",
    });
    // Three platforms (AppStream, BaseOS, CRB) of RHEL 9 with the same source RPM: one range.
    expect(records[0]?.affected).toEqual([
      {
        ecosystem: "rpm",
        release: "rhel:9",
        packageName: "python3.9",
        packageScope: "source",
        introduced: null,
        fixed: "3.9.18-3.el9_4.5",
        lastAffected: null,
        versions: [],
        status: "fixed",
        advisoryId: "RHSA-2024:6163",
        vendorSeverity: null,
        supersedes: [],
      },
    ]);
  });

  it("skips RHSA-2021:5217: Red Hat Single Sign-On is a product, not a RHEL component", () => {
    const { records, skipped } = parseCsafDocument(readJson(`${EXAMPLES}rhsa-2021_5217.json`));
    expect(records).toEqual([]);
    expect(skipped).toEqual([
      {
        record: "RHSA-2021:5217/CVE-2021-4133 Red Hat Single Sign-On",
        reason: "product Red Hat Single Sign-On is not a component of a platform",
      },
      {
        record: "RHSA-2021:5217 CVE-2021-4133",
        reason: "no product in it could be mapped to a package, KB update or CPE",
      },
    ]);
  });

  it("reads unfixed statuses from a VEX-style document: no_fix_planned is will_not_fix", () => {
    const doc = {
      document: {
        category: "csaf_vex",
        csaf_version: "2.0",
        publisher: { name: "Red Hat Product Security" },
        tracking: { id: "CVE-2024-1111" },
      },
      product_tree: {
        branches: [
          {
            category: "product_name",
            name: "Red Hat Enterprise Linux 8",
            product: {
              name: "Red Hat Enterprise Linux 8",
              product_id: "red_hat_enterprise_linux_8",
              product_identification_helper: { cpe: "cpe:/o:redhat:enterprise_linux:8" },
            },
          },
          { category: "product_version", name: "kernel", product: { name: "kernel", product_id: "kernel" } },
          {
            category: "product_version",
            name: "openssl-1:1.1.1k-7.el8_6.x86_64",
            product: {
              name: "openssl-1:1.1.1k-7.el8_6.x86_64",
              product_id: "openssl-1:1.1.1k-7.el8_6.x86_64",
            },
          },
        ],
        relationships: ["kernel", "openssl-1:1.1.1k-7.el8_6.x86_64"].map((c) => ({
          category: "default_component_of",
          full_product_name: { name: c, product_id: `red_hat_enterprise_linux_8:${c}` },
          product_reference: c,
          relates_to_product_reference: "red_hat_enterprise_linux_8",
        })),
      },
      vulnerabilities: [
        {
          cve: "CVE-2024-1111",
          product_status: {
            known_affected: ["red_hat_enterprise_linux_8:kernel"],
            fixed: ["red_hat_enterprise_linux_8:openssl-1:1.1.1k-7.el8_6.x86_64"],
          },
          remediations: [
            {
              category: "no_fix_planned",
              details: "Will not fix",
              product_ids: ["red_hat_enterprise_linux_8:kernel"],
            },
            {
              category: "vendor_fix",
              details: "Update",
              url: "https://access.redhat.com/errata/RHSA-2022:1234",
              product_ids: ["red_hat_enterprise_linux_8:openssl-1:1.1.1k-7.el8_6.x86_64"],
            },
          ],
          threats: [
            { category: "impact", details: "Important", product_ids: ["red_hat_enterprise_linux_8:kernel"] },
          ],
        },
      ],
    };
    const { records, skipped } = parseCsafDocument(doc);
    expect(skipped).toEqual([]);
    expect(records[0]?.id).toBe("CVE-2024-1111");
    expect(
      records[0]?.affected.map((r) => [
        r.packageName,
        r.release,
        r.packageScope,
        r.status,
        r.fixed,
        r.advisoryId,
        r.vendorSeverity,
      ]),
    ).toEqual([
      ["kernel", "rhel:8", "binary", "will_not_fix", null, null, "high"],
      ["openssl", "rhel:8", "binary", "fixed", "1:1.1.1k-7.el8_6", "RHSA-2022:1234", null],
    ]);
  });

  it("reads RPM names, EVRs and arches from Red Hat product ids", () => {
    expect(parseRpmProductId("openssl-1:1.1.1k-7.el8_6.x86_64")).toEqual({
      name: "openssl",
      evr: "1:1.1.1k-7.el8_6",
      arch: "x86_64",
    });
    expect(parseRpmProductId("python3.9-0:3.9.18-3.el9_4.5.src")).toEqual({
      name: "python3.9",
      evr: "0:3.9.18-3.el9_4.5",
      arch: "src",
    });
    expect(parseRpmProductId("samba-3.0.33-3.39.el5_8.src.rpm")).toEqual({
      name: "samba",
      evr: "3.0.33-3.39.el5_8",
      arch: "src",
    });
    expect(parseRpmProductId("libvirt-daemon-kvm")).toEqual({
      name: "libvirt-daemon-kvm",
      evr: null,
      arch: null,
    });
    expect(parseRpmProductId("not an rpm")).toBeNull();
  });
});

describe("parseCsafDocument: Microsoft (our fixture)", () => {
  it("the fixture is a valid CSAF 2.0 document", () => {
    const validate = csafValidator();
    expect(validate(readJson(MSRC_FIXTURE)), JSON.stringify(validate.errors)).toBe(true);
    // The schema itself is not a rubber stamp: the upstream Red Hat example passes, a broken copy fails.
    expect(validate(readJson(`${EXAMPLES}rhsa-2021_5217.json`))).toBe(true);
    expect(validate({ document: { category: "csaf_base" } })).toBe(false);
  });

  it("maps each product's KB to a windows-kb range with its supersedence, and its fixed build to a windows range", () => {
    const { records, skipped } = parseCsafDocument(readJson(MSRC_FIXTURE));
    expect(skipped).toEqual([]);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      id: "CVE-2099-10001",
      aliases: [],
      severity: "high",
      cvssV3: { score: 7.8 },
    });
    expect(
      records[0]?.affected.map((r) => [
        r.ecosystem,
        r.release,
        r.packageName,
        r.status,
        r.fixed,
        r.advisoryId,
        r.supersedes,
      ]),
    ).toEqual([
      [
        "windows-kb",
        "windows:10.0.22631",
        "windows 11 version 23h2 for x64-based systems",
        "fixed",
        "KB5034123",
        "KB5034123",
        ["KB5033375"],
      ],
      ["windows", "windows:10.0.22631", "windows", "fixed", "10.0.22631.3007", "KB5034123", []],
      // The bare "5034122" of MSRC's own style, with no build given: a KB range only.
      [
        "windows-kb",
        null,
        "windows 10 version 22h2 for x64-based systems",
        "fixed",
        "KB5034122",
        "KB5034122",
        [],
      ],
    ]);
  });

  it("accepts supersedence and fixed build as MSRC-style properties too", () => {
    const doc = readJson(MSRC_FIXTURE);
    const text = JSON.stringify(doc).replace(
      '"details":"5034122"',
      '"details":"5034122","supercedence":"5033372","fixed_build":"10.0.19045.3930"',
    );
    const affected = parseCsafDocument(text).records[0]?.affected ?? [];
    expect(
      affected
        .filter((r) => r.release === "windows:10.0.19045")
        .map((r) => [r.ecosystem, r.release, r.fixed, r.supersedes]),
    ).toEqual([
      ["windows-kb", "windows:10.0.19045", "KB5034122", ["KB5033372"]],
      ["windows", "windows:10.0.19045", "10.0.19045.3930", []],
    ]);
  });
});

describe("parseCsafDocument: other publishers", () => {
  it("turns BSI's CPE-identified affected products into CPE matches; a CPE cannot say 'fixed'", () => {
    const { records, skipped } = parseCsafDocument(readJson(`${EXAMPLES}bsi-2022-0001.json`));
    expect(records[0]?.id).toBe("BSI-2022-0001/CVE-2022-27193");
    expect(records[0]?.cvssV3?.score).toBe(6.1);
    expect(records[0]?.cpeMatches.map((m) => `${m.vendor}:${m.product}:${m.version}`)).toEqual([
      "csaf-tools:cvrf-csaf-converter:1.0.0-alpha",
      "csaf-tools:cvrf-csaf-converter:1.0.0-dev1",
      "csaf-tools:cvrf-csaf-converter:1.0.0-dev2",
      "csaf-tools:cvrf-csaf-converter:1.0.0-dev3",
      "csaf-tools:cvrf-csaf-converter:1.0.0-rc1",
    ]);
    expect(skipped).toEqual([
      {
        record: "BSI-2022-0001/CVE-2022-27193 CSAFPID-0006",
        reason: "product CSAFPID-0006: a CPE can only be recorded as affected, not fixed",
      },
    ]);
  });

  it.each(["a", "f", "na", "ui"])(
    "skips the OASIS VEX example %s: its product has no purl or CPE",
    (kind) => {
      const { records, skipped } = parseCsafDocument(
        readJson(`${EXAMPLES}csaf_vex/2022-evd-uc-01-${kind}-001.json`),
      );
      expect(records).toEqual([]);
      expect(skipped[0]?.reason).toMatch(
        /^product CSAFPID-0001 \("Example Company \w+ [\d.]+"\) has no purl or CPE to match inventory by$/,
      );
      expect(skipped[1]?.reason).toBe("no product in it could be mapped to a package, KB update or CPE");
    },
  );

  it("maps Trivy's VEX example (a Go purl) to a not_affected range at that version", () => {
    const { records } = parseCsafDocument(readJson("trivy/vex/csaf.json"));
    expect(records[0]?.affected).toEqual([
      expect.objectContaining({
        ecosystem: "go",
        packageName: "github.com/aquasecurity/go-transitive",
        versions: ["v4.0.0"],
        status: "not_affected",
        fixed: null,
      }),
    ]);
  });

  it("refuses JSON that is not a CSAF 2.0 document", () => {
    expect(() => parseCsafDocument('{"document": ')).toThrow(FeedFormatError);
    expect(() => parseCsafDocument({ id: "GHSA-x" })).toThrow(/expected \{ document/);
    expect(() => parseCsafDocument({ document: { csaf_version: "2.1", tracking: { id: "x" } } })).toThrow(
      /csaf_version/,
    );
    expect(() => parseCsafDocument({ document: { csaf_version: "2.0", tracking: {} } })).toThrow(
      /tracking.id/,
    );
  });
});
