import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_FEED_URLS, loadConfig } from "./config.js";

const KEY = "5f1c2b7a-3d4e-4f60-8a9b-0c1d2e3f4a5b";

describe("feed sync settings", () => {
  it("defaults to the public sources every six hours, without an NVD key", () => {
    const config = loadConfig({}, "/srv/pp");
    expect(config).toMatchObject({
      feedSync: true,
      feedSyncHours: 6,
      nvdApiKey: null,
      feedUrls: DEFAULT_FEED_URLS,
    });
    expect(config.osvEcosystems).toEqual([
      "Debian",
      "Ubuntu",
      "Alpine",
      "Red Hat",
      "Rocky Linux",
      "AlmaLinux",
      "SUSE",
      "npm",
      "PyPI",
      "Maven",
      "Go",
      "crates.io",
      "NuGet",
    ]);
    expect(config.alpineReleases).toEqual(["v3.18", "v3.19", "v3.20", "v3.21", "v3.22"]);
  });

  it("reads lists, hours and mirror URLs", () => {
    const config = loadConfig({
      PATCHPILOT_FEED_SYNC_HOURS: "12",
      PATCHPILOT_OSV_ECOSYSTEMS: " PyPI, Red Hat ,PyPI",
      PATCHPILOT_ALPINE_RELEASES: "none",
      PATCHPILOT_FEED_URL_OSV: "http://mirror.internal/osv",
      PATCHPILOT_FEED_URL_KEV: "https://mirror.internal/kev.json",
    });
    expect(config.feedSyncHours).toBe(12);
    expect(config.osvEcosystems).toEqual(["PyPI", "Red Hat"]);
    expect(config.alpineReleases).toEqual([]);
    // A base URL gets its trailing slash, so paths are added below it rather than beside it.
    expect(config.feedUrls.osv).toBe("http://mirror.internal/osv/");
    expect(config.feedUrls.kev).toBe("https://mirror.internal/kev.json");
    expect(config.feedUrls.nvd).toBe(DEFAULT_FEED_URLS.nvd);
  });

  it("refuses bad values with a sentence naming the setting", () => {
    expect(() => loadConfig({ PATCHPILOT_FEED_SYNC_HOURS: "0" })).toThrow(
      /PATCHPILOT_FEED_SYNC_HOURS must be a whole number/,
    );
    expect(() => loadConfig({ PATCHPILOT_FEED_URL_NVD: "ftp://mirror/nvd" })).toThrow(
      /PATCHPILOT_FEED_URL_NVD must start with https/,
    );
    expect(() => loadConfig({ PATCHPILOT_FEED_URL_EPSS: "not a url" })).toThrow(ConfigError);
    expect(() => loadConfig({ PATCHPILOT_OSV_ECOSYSTEMS: "Debian,../etc" })).toThrow(
      /"..\/etc" is not an OSV ecosystem/,
    );
    expect(() => loadConfig({ PATCHPILOT_ALPINE_RELEASES: "3.20" })).toThrow(
      /"3.20" is not an Alpine release/,
    );
  });

  // Mirror credentials in a URL would be printed in every feed error and log line.
  it("refuses a mirror URL that carries credentials", () => {
    expect(() => loadConfig({ PATCHPILOT_FEED_URL_DEBIAN: "https://user:pw@mirror/json" })).toThrow(
      /must not hold a user name or password/,
    );
  });

  // The key grants NVD's higher rate limit to whoever holds it: it must not leak through a dump
  // of the configuration, a log line that includes it, or the message refusing a bad one.
  it("keeps the NVD API key out of every printed form of the configuration", () => {
    const config = loadConfig({ PATCHPILOT_NVD_API_KEY: KEY });
    expect(config.nvdApiKey?.reveal()).toBe(KEY);
    expect(JSON.stringify(config)).not.toContain(KEY);
    expect(inspect(config, { depth: 10, showHidden: true })).not.toContain(KEY);
    expect(String(config.nvdApiKey)).toBe("[redacted]");
    expect(`${config.nvdApiKey}`).not.toContain(KEY);
    const bad = "has spaces and a secret-part";
    expect(() => loadConfig({ PATCHPILOT_NVD_API_KEY: bad })).toThrow(
      /PATCHPILOT_NVD_API_KEY must be the key NVD issued/,
    );
    expect(() => loadConfig({ PATCHPILOT_NVD_API_KEY: bad })).not.toThrow(/secret-part/);
  });
});
