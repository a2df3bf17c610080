import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { replayRunner } from "./replay-runner.js";
import { decodeXmlEntities, elementsNamed } from "./xml-elements.js";
import {
  collectZypperUpdates,
  parseZypperListUpdates,
  parseZypperSecurityDryRun,
  ZYPPER_LIST_UPDATES_ARGS,
  ZYPPER_SECURITY_DRY_RUN_ARGS,
} from "./zypper-updates.js";

const fixture = (path: string) => readFileSync(new URL(`./testdata/${path}`, import.meta.url), "utf8");
const listUpdates = fixture("linux/zypper-list-updates.sles15.xml");
const dryRun = fixture("linux/zypper-patch-dry-run-security.sles15.xml");
const ALIAS = "Basesystem_Module_15_SP5_x86_64:SLE-Module-Basesystem15-SP5-Updates";

describe("zypper XML parsing", () => {
  it("reads package updates with old and new edition and the repository alias", () => {
    const updates = parseZypperListUpdates(listUpdates);
    expect(updates).toHaveLength(3);
    expect(updates[0]).toEqual({
      ecosystem: "rpm",
      name: "libopenssl3",
      arch: "x86_64",
      currentVersion: "3.0.8-150500.5.20.1",
      availableVersion: "3.0.8-150500.5.27.1",
      origin: ALIAS,
      security: false,
    });
  });

  it("finds the packages a security-patch dry run would change, not the patches themselves", () => {
    expect(parseZypperSecurityDryRun(dryRun)).toEqual(new Set(["libopenssl3.x86_64", "openssl-3.x86_64"]));
  });

  it("decodes entities and reads attributes in either quote style, '>' inside values included", () => {
    expect(decodeXmlEntities("a &amp; b &lt;c&gt; &#65;&#x42; &quot;&apos;")).toBe("a & b <c> AB \"'");
    const [attrs] = elementsNamed(`<solvable name='a>b' edition="1&amp;2"/>`, "solvable");
    expect(attrs).toEqual(
      new Map([
        ["name", "a>b"],
        ["edition", "1&2"],
      ]),
    );
  });
});

describe("collectZypperUpdates", () => {
  it("marks the updates the security patches bring", async () => {
    const runner = replayRunner([
      { program: "zypper", args: ZYPPER_LIST_UPDATES_ARGS, result: { stdout: listUpdates } },
      { program: "zypper", args: ZYPPER_SECURITY_DRY_RUN_ARGS, result: { code: 0, stdout: dryRun } },
    ]);
    const { updates, warnings } = await collectZypperUpdates(runner);
    expect(warnings).toEqual([]);
    expect(updates.map((u) => `${u.name}:${u.security}`)).toEqual([
      "libopenssl3:true",
      "openssl-3:true",
      "timezone:false",
    ]);
  });

  it("lists updates unclassified, with a warning, when the dry run is refused", async () => {
    const runner = replayRunner([
      { program: "zypper", args: ZYPPER_LIST_UPDATES_ARGS, result: { stdout: listUpdates } },
      {
        program: "zypper",
        args: ZYPPER_SECURITY_DRY_RUN_ARGS,
        result: { code: 5, stderr: "Root privileges are required" },
      },
    ]);
    const { updates, warnings } = await collectZypperUpdates(runner);
    expect(updates).toHaveLength(3);
    expect(warnings[0]).toMatch(/without their security classification/);
  });

  it("fails when zypper is locked (exit 7)", async () => {
    const runner = replayRunner([
      {
        program: "zypper",
        args: ZYPPER_LIST_UPDATES_ARGS,
        result: { code: 7, stderr: "System management is locked" },
      },
    ]);
    await expect(collectZypperUpdates(runner)).rejects.toThrow(/locked/);
  });
});
