import { describe, expect, it } from "vitest";
import { productPurl, purlOf } from "./purl.js";

const entry = (ecosystem: string, release: string, name: string, version: string, arch = "") => ({
  ecosystem,
  release,
  name,
  version,
  arch,
});

describe("purlOf", () => {
  it("writes each ecosystem's package URL as the purl-spec does", () => {
    expect(purlOf(entry("dpkg", "debian:12", "openssl", "3.0.11-1~deb12u2", "amd64"))).toBe(
      "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12",
    );
    expect(purlOf(entry("dpkg", "ubuntu:22.04", "libc6", "2.35-0ubuntu3.6", "amd64"))).toBe(
      "pkg:deb/ubuntu/libc6@2.35-0ubuntu3.6?arch=amd64&distro=ubuntu-22.04",
    );
    // An rpm epoch is a qualifier; RHEL's packages are Red Hat's.
    expect(purlOf(entry("rpm", "rhel:9", "openssl", "1:3.0.7-24.el9", "x86_64"))).toBe(
      "pkg:rpm/redhat/openssl@3.0.7-24.el9?arch=x86_64&distro=rhel-9&epoch=1",
    );
    expect(purlOf(entry("rpm", "rocky:9", "curl", "7.76.1-26.el9", "x86_64"))).toBe(
      "pkg:rpm/rocky/curl@7.76.1-26.el9?arch=x86_64&distro=rocky-9",
    );
    expect(purlOf(entry("apk", "alpine:3.19", "busybox", "1.36.1-r15", "x86_64"))).toBe(
      "pkg:apk/alpine/busybox@1.36.1-r15?arch=x86_64&distro=alpine-3.19",
    );
    expect(purlOf(entry("npm", "", "@babel/core", "7.24.0"))).toBe("pkg:npm/%40babel/core@7.24.0");
    expect(purlOf(entry("npm", "", "lodash", "4.17.21"))).toBe("pkg:npm/lodash@4.17.21");
    expect(purlOf(entry("pypi", "", "Django_Rest", "3.14.0"))).toBe("pkg:pypi/django-rest@3.14.0");
    expect(purlOf(entry("maven", "", "org.apache.logging.log4j:log4j-core", "2.17.1"))).toBe(
      "pkg:maven/org.apache.logging.log4j/log4j-core@2.17.1",
    );
    expect(purlOf(entry("go", "", "golang.org/x/net", "v0.23.0"))).toBe(
      "pkg:golang/golang.org/x/net@v0.23.0",
    );
    expect(purlOf(entry("cargo", "", "openssl", "0.10.64"))).toBe("pkg:cargo/openssl@0.10.64");
    expect(purlOf(entry("nuget", "", "Newtonsoft.Json", "13.0.3"))).toBe("pkg:nuget/Newtonsoft.Json@13.0.3");
  });

  it("has no purl for Windows programs, hotfixes and macOS apps; VEX names them generically", () => {
    const firefox = entry("windows", "windows:10.0.22631", "Mozilla Firefox", "121.0", "x64");
    expect(purlOf(firefox)).toBeNull();
    expect(purlOf(entry("windows-kb", "windows:10.0.22631", "KB5034441", "1"))).toBeNull();
    expect(productPurl(firefox)).toBe("pkg:generic/Mozilla%20Firefox@121.0");
  });
});
