import { Release } from "@patchpilot/protocol";
import { describe, expect, it } from "vitest";
import {
  distroFamily,
  distroRelease,
  parseOsRelease,
  parseOsReleaseFields,
  RELEASE_PATTERN,
} from "./os-release.js";

const osRelease = (fields: Record<string, string>) =>
  parseOsRelease(
    Object.entries(fields)
      .map(([k, v]) => `${k}="${v}"`)
      .join("\n"),
  );

describe("os-release", () => {
  it("parses quoted, single-quoted and bare values and skips comments", () => {
    const fields = parseOsReleaseFields(
      '# comment\nNAME="Debian GNU/Linux"\nID=debian\nVERSION_ID=\'12\'\nPRETTY_NAME="A \\"quoted\\" \\$name"\nbroken line\n',
    );
    expect(fields.get("NAME")).toBe("Debian GNU/Linux");
    expect(fields.get("ID")).toBe("debian");
    expect(fields.get("VERSION_ID")).toBe("12");
    expect(fields.get("PRETTY_NAME")).toBe('A "quoted" $name');
  });

  it.each([
    [{ ID: "debian", VERSION_ID: "12" }, "debian:12"],
    [{ ID: "debian", VERSION_CODENAME: "trixie" }, "debian:trixie"],
    [{ ID: "ubuntu", VERSION_ID: "22.04", ID_LIKE: "debian" }, "ubuntu:22.04"],
    [{ ID: "alpine", VERSION_ID: "3.19.1" }, "alpine:3.19"],
    [{ ID: "rhel", VERSION_ID: "9.3" }, "rhel:9"],
    [{ ID: "rocky", VERSION_ID: "9.3" }, "rocky:9"],
    [{ ID: "almalinux", VERSION_ID: "9.3" }, "almalinux:9"],
    [{ ID: "centos", VERSION_ID: "7" }, "centos:7"],
    [{ ID: "sles", VERSION_ID: "15.5" }, "sles:15.5"],
    [{ ID: "opensuse-leap", VERSION_ID: "15.5" }, "opensuse-leap:15.5"],
    [{ ID: "amzn", VERSION_ID: "2023" }, "amzn:2023"],
    [{ ID: "amzn", VERSION_ID: "2" }, "amzn:2"],
    [{ ID: "fedora", VERSION_ID: "40" }, "fedora:40"],
    [{ ID: "arch" }, null],
  ])("names the release of %o as %s", (fields, release) => {
    expect(distroRelease(osRelease(fields))).toBe(release);
  });

  it("knows which package manager's naming a distribution uses", () => {
    expect(distroFamily(osRelease({ ID: "linuxmint", ID_LIKE: "ubuntu debian" }))).toBe("dpkg");
    expect(distroFamily(osRelease({ ID: "rocky", ID_LIKE: "rhel centos fedora" }))).toBe("rpm");
    expect(distroFamily(osRelease({ ID: "opensuse-leap", ID_LIKE: "suse opensuse" }))).toBe("rpm");
    expect(distroFamily(osRelease({ ID: "alpine" }))).toBe("apk");
    expect(distroFamily(osRelease({ ID: "arch" }))).toBe("unknown");
  });

  it("uses the same release pattern as the protocol", () => {
    expect(RELEASE_PATTERN.source).toBe(Reflect.get(Release, "pattern"));
  });
});
