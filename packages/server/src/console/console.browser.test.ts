import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addTestMember,
  createTestOrg,
  TEST_PASSWORD,
  type TestApp,
  type TestOrg,
  testConfig,
} from "../testing/app.js";
import {
  type ConsolePage,
  chromiumAvailable,
  expectAccessible,
  launchChromium,
  openConsole,
  screenshot,
  signIn,
} from "../testing/browser.js";
import { type RealServer, startRealServer } from "../testing/real-server.js";
import { CVE, type Fleet, importFixtureAdvisories, seedFleet } from "../testing/vulns.js";

/**
 * The console in a real browser (Debian's chromium) against a real server (TLS, its own CA,
 * PGlite or PostgreSQL per DATABASE_URL): the paths operators, owners and auditors take every day.
 */
const haveChromium = chromiumAvailable();

/** Waits for the page (a loaded CI machine may take seconds to render). */
const eventually = <T>(read: () => Promise<T> | T) => expect.poll(read, { timeout: 20_000, interval: 100 });

describe.skipIf(!haveChromium)("the console in chromium", () => {
  let server: RealServer;
  let browser: Browser;
  let orgA: TestOrg;
  let orgB: TestOrg;
  let fleet: Fleet;
  let auditorEmail: string;
  let teammate: string;
  const open: ConsolePage[] = [];

  beforeAll(async () => {
    server = await startRealServer();
    const db = server.server.db;
    // The seeding helpers drive the same application the browser talks to.
    const t: TestApp = {
      app: server.server.app,
      db,
      config: testConfig(),
      testDb: { db, url: null, drop: async () => {} },
      close: async () => {},
    };
    await importFixtureAdvisories(db);
    orgA = await createTestOrg(db, "Alpha Ltd");
    orgB = await createTestOrg(db, "Bravo Ltd");
    fleet = await seedFleet(t, orgA.organizationId, "alpha");
    await seedFleet(t, orgB.organizationId, "bravo");
    auditorEmail = (await addTestMember(db, orgA.organizationId, "auditor")).email;
    teammate = (await addTestMember(db, orgA.organizationId, "operator", "teammate")).userId;
    browser = await launchChromium();
  });

  afterAll(async () => {
    for (const c of open) await c.context.close();
    await browser?.close();
    await server?.destroy();
  });

  async function session(email: string, size: "desktop" | "phone" = "desktop"): Promise<ConsolePage> {
    const c = await openConsole(browser, size);
    open.push(c);
    await signIn(c.page, server.url, email, TEST_PASSWORD);
    return c;
  }

  const org = (path: string) => `${server.url}/orgs/${orgA.organizationId}/${path}`;

  async function auditRow(page: Page, action: string) {
    await page.goto(org("audit"));
    await page.getByLabel("Action").fill(action);
    await page.getByRole("button", { name: "Apply filters" }).click();
    const row = page.getByRole("row").filter({ hasText: action }).first();
    await eventually(() => row.count()).toBe(1);
    return row;
  }

  it("signs in and shows the dashboard with counts and charts", async () => {
    const { page, errors } = await session(orgA.owner.email);
    await eventually(() => page.getByText("Critical open").count()).toBe(1);
    const critical = page.locator(".stat").filter({ hasText: "Critical open" }).locator(".stat-value");
    expect(Number(await critical.textContent())).toBeGreaterThan(0);
    await eventually(() => page.locator(".recharts-wrapper").count()).toBe(3);
    expect(await page.getByText("Devices online").count()).toBe(1);
    await expectAccessible(page, "dashboard");
    await screenshot(page, "dashboard");
    // The session lives in an HttpOnly cookie; nothing secret is kept in the page's storage.
    const stored = await page.evaluate<string>("JSON.stringify({ ...localStorage, ...sessionStorage })");
    expect(stored).toBe("{}");
    expect(await page.evaluate<string>("document.cookie")).toBe("");
    expect(errors).toEqual([]);
  });

  it("creates an enrolment token and shows the install commands with the token and the CA pin", async () => {
    const { page, errors } = await session(orgA.owner.email);
    await page.goto(org("enrolment"));
    await page.getByLabel("Name", { exact: true }).fill("Branch office");
    await page.getByRole("button", { name: "Create token" }).click();
    const commands = page.getByLabel("Linux install commands");
    await eventually(() => commands.count()).toBe(1);
    const linux = (await commands.textContent()) ?? "";
    const token = (await page.locator("code.token").textContent()) ?? "";
    expect(token).toMatch(/^ppk_/);
    expect(linux).toContain(`PATCHPILOT_ENROLLMENT_TOKEN='${token}'`);
    expect(linux).toContain(`--server ${server.url}`);
    expect(linux).toContain(`--ca-pin ${server.caPin}`);
    await page.getByRole("tab", { name: "Windows" }).click();
    expect(await page.getByLabel("Windows install commands").textContent()).toContain(
      `--ca-pin ${server.caPin}`,
    );
    await page.getByRole("tab", { name: "macOS" }).click();
    expect(await page.getByLabel("macOS install commands").textContent()).toContain("launchctl bootstrap");
    expect(await page.getByRole("row").filter({ hasText: "Branch office" }).count()).toBe(1);
    await expectAccessible(page, "enrolment");
    await screenshot(page, "enrolment");
    expect(errors).toEqual([]);
  });

  it("opens a device's detail, accepts a risk on it, and reads the audit row of that decision", async () => {
    const { page, errors } = await session(orgA.owner.email);
    await page.goto(org("devices"));
    await page.getByRole("link", { name: fleet.web.hostname }).click();
    await page.waitForURL(new RegExp(`/devices/${fleet.web.deviceId}$`));
    await eventually(() => page.getByRole("heading", { name: fleet.web.hostname }).count()).toBe(1);
    const row = page.getByRole("row").filter({ hasText: CVE.curl });
    await eventually(() => row.count()).toBe(1);
    expect(await page.getByRole("heading", { name: "Installed software" }).count()).toBe(1);
    await expectAccessible(page, "device detail");
    await screenshot(page, "device-detail");

    await row.getByRole("button", { name: "Decide…" }).click();
    await page.getByLabel("Reason").fill("Behind the proxy until the March window");
    await page.getByRole("button", { name: "Save decision" }).click();
    await expect
      .poll(() => page.getByRole("row").filter({ hasText: CVE.curl }).textContent())
      .toContain("accepted risk");
    await screenshot(page, "risk-accepted");

    const audit = await auditRow(page, "suppressions.created");
    await audit.getByRole("button", { name: /Details of/ }).click();
    await expect
      .poll(() => page.getByText("Behind the proxy until the March window").count())
      .toBeGreaterThan(0);
    await eventually(() => page.getByText(/intact \(\d+ rows checked\)/).count()).toBeGreaterThan(0);
    await expectAccessible(page, "audit log");
    await screenshot(page, "audit-decision");
    expect(errors).toEqual([]);
  });

  it("creates a rollout with a ring, watches it, and finds its audit row", async () => {
    const { page, errors } = await session(orgA.owner.email);
    await page.goto(org("rollouts"));
    await page.getByRole("button", { name: "New rollout" }).click();
    await page.getByLabel("Name", { exact: true }).fill("curl fix");
    await page.getByLabel("Packages (names, separated by commas)").fill("curl");
    await page.getByLabel("Device groups").selectOption(fleet.groupId);
    await expectAccessible(page, "new rollout");
    await page.getByRole("button", { name: "Start rollout" }).click();
    await page.waitForURL(/\/rollouts\/[0-9a-f-]{36}$/);
    await eventually(() => page.getByRole("heading", { name: "curl fix" }).count()).toBe(1);
    await eventually(() => page.getByRole("heading", { name: /Ring 1: Test/ }).count()).toBe(1);
    await eventually(() => page.getByRole("button", { name: "Pause" }).count()).toBe(1);
    await screenshot(page, "rollout");
    const audit = await auditRow(page, "rollouts.created");
    expect(await audit.textContent()).toContain("rollout");
    await screenshot(page, "audit-rollout");
    expect(errors).toEqual([]);
  });

  /** A GET from inside the page, with its session (the console's own way to the API). */
  async function fetchJson<T>(page: Page, path: string): Promise<T> {
    const text = await page.evaluate<string, string>(
      async (url) =>
        (await fetch(url, { credentials: "same-origin", headers: { accept: "application/json" } })).text(),
      `/api/v1/orgs/${orgA.organizationId}${path}`,
    );
    return JSON.parse(text) as T;
  }

  it("sorts the devices table from its column headers, on the server", async () => {
    const { page, errors } = await session(orgA.owner.email);
    await page.goto(org("devices"));
    const firstHost = () => page.getByRole("row").nth(1).getByRole("link").textContent();
    await eventually(firstHost).toBe(fleet.db.hostname);
    const hostHeader = page.getByRole("columnheader", { name: "Hostname" });
    expect(await hostHeader.getAttribute("aria-sort")).toBe("ascending");
    const riskHeader = page.getByRole("columnheader", { name: /Open findings/ });
    expect(await riskHeader.getAttribute("aria-sort")).toBe("none");
    await riskHeader.getByRole("button").click();
    // The web server has the most at stake: the critical OpenSSL finding and the most open findings.
    await eventually(firstHost).toBe(fleet.web.hostname);
    expect(await riskHeader.getAttribute("aria-sort")).toBe("descending");
    expect(await hostHeader.getAttribute("aria-sort")).toBe("none");
    await riskHeader.getByRole("button").click();
    await eventually(firstHost).toBe(fleet.lab.hostname);
    expect(await riskHeader.getAttribute("aria-sort")).toBe("ascending");
    await page.getByRole("columnheader", { name: "Last seen" }).getByRole("button").click();
    await eventually(() =>
      page.getByRole("columnheader", { name: "Last seen" }).getAttribute("aria-sort"),
    ).toBe("descending");
    await expectAccessible(page, "devices sorted");
    await screenshot(page, "devices-sorted");
    expect(errors).toEqual([]);
  });

  it("creates a rollout from vulnerabilities ticked on the by-vulnerability page, with its ring and gate", async () => {
    const { page, errors } = await session(orgA.owner.email);
    await page.goto(org("vulnerabilities"));
    const create = page.getByRole("button", { name: "Create rollout from selection" });
    await eventually(() => page.getByRole("checkbox", { name: `Select ${CVE.critical}` }).count()).toBe(1);
    expect(await create.isDisabled()).toBe(true);
    await page.getByRole("checkbox", { name: `Select ${CVE.critical}` }).check();
    await create.click();
    await page.waitForURL(/\/rollouts\?fix=/);
    const fix = page.getByLabel("Fix these vulnerabilities (ids, separated by commas)");
    await eventually(() => fix.inputValue()).toBe(CVE.critical);
    await page.getByLabel("Name", { exact: true }).fill("OpenSSL from the selection");
    await page.getByLabel("Ring name").fill("Web first");
    await page.getByLabel("Device groups").selectOption(fleet.groupId);
    await page.getByLabel("Gate: devices that must succeed (%)").fill("90");
    await page.getByLabel("Gate: soak time (minutes)").fill("30");
    await page.getByLabel("A person approves before the next ring").uncheck();
    await expectAccessible(page, "rollout from a selection");
    await screenshot(page, "rollout-from-selection");
    await page.getByRole("button", { name: "Start rollout" }).click();
    await page.waitForURL(/\/rollouts\/[0-9a-f-]{36}$/);
    await eventually(() => page.getByRole("heading", { name: "OpenSSL from the selection" }).count()).toBe(1);
    await eventually(() => page.getByRole("heading", { name: /Ring 1: Web first/ }).count()).toBe(1);
    const rolloutId = page.url().split("/").at(-1) ?? "";
    const rollout = await fetchJson<{
      packages: { name: string }[];
      rings: {
        groupIds: string[];
        gate: { successPercent: number; soakMinutes: number; requireApproval: boolean };
      }[];
    }>(page, `/rollouts/${rolloutId}`);
    expect(rollout.packages.map((p) => p.name)).toContain("openssl");
    expect(rollout.rings).toHaveLength(1);
    expect(rollout.rings[0]?.groupIds).toEqual([fleet.groupId]);
    expect(rollout.rings[0]?.gate).toMatchObject({
      successPercent: 90,
      soakMinutes: 30,
      requireApproval: false,
    });
    expect(errors).toEqual([]);
  });

  it("creates a rollout from findings ticked by device, and shows it in each device's rollout history", async () => {
    const { page, errors } = await session(orgA.owner.email);
    await page.goto(org("vulnerabilities"));
    await page.getByRole("tab", { name: "By device (findings)" }).click();
    const labCurl = page.getByRole("checkbox", { name: `Select ${CVE.curl} on ${fleet.lab.hostname}` });
    await eventually(() => labCurl.count()).toBe(1);
    await labCurl.check();
    await page
      .getByRole("checkbox", { name: `Select ${CVE.critical} on ${fleet.web.hostname}` })
      .first()
      .check();
    await eventually(() => page.getByText(/2 findings selected on 2 device/).count()).toBe(1);
    await expectAccessible(page, "findings ticked");
    await page.getByRole("button", { name: "Create rollout from selection" }).click();
    await page.waitForURL(/\/rollouts\?fix=/);
    await eventually(() =>
      page.getByLabel("Fix these vulnerabilities (ids, separated by commas)").inputValue(),
    ).toBe(`${CVE.critical}, ${CVE.curl}`);
    await page.getByLabel("Name", { exact: true }).fill("Findings from two devices");
    await page.getByLabel("Device groups").selectOption(fleet.groupId);
    await page.getByRole("button", { name: "Start rollout" }).click();
    await page.waitForURL(/\/rollouts\/[0-9a-f-]{36}$/);
    await eventually(() => page.getByRole("heading", { name: "Findings from two devices" }).count()).toBe(1);

    await page.goto(org(`devices/${fleet.lab.deviceId}`));
    await eventually(() => page.getByRole("heading", { name: "Rollouts" }).count()).toBe(1);
    const history = page.getByRole("row").filter({ hasText: "Findings from two devices" });
    await eventually(() => history.count()).toBe(1);
    expect(await history.textContent()).toContain("1: Test");
    await expectAccessible(page, "device rollout history");
    await screenshot(page, "device-rollouts");
    // The database server is in no ring: it has no rollout history.
    await page.goto(org(`devices/${fleet.db.deviceId}`));
    await eventually(() => page.getByText("This device has not been in a rollout yet.").count()).toBe(1);
    expect(errors).toEqual([]);
  });

  it("creates and edits a maintenance window and a patch policy, keeping the settings not shown in the table", async () => {
    const { page, errors } = await session(orgA.owner.email);
    await page.goto(org("policies"));
    await page.getByRole("button", { name: "New maintenance window" }).click();
    await page.getByLabel("Name", { exact: true }).fill("Sunday early");
    await page.getByLabel("Opens (cron schedule, e.g. 0 2 * * 6)").fill("0 3 * * 0");
    await page.getByLabel("Open for (minutes)").fill("120");
    await page.getByLabel("Time zone").fill("Europe/London");
    await page.getByRole("button", { name: "Save window" }).click();
    const windowRow = page.getByRole("row").filter({ hasText: "Sunday early" });
    await eventually(() => windowRow.textContent()).toContain("120 min");
    await page.getByRole("button", { name: "Edit Sunday early" }).click();
    await page.getByLabel("Open for (minutes)").fill("180");
    await page.getByRole("button", { name: "Save window" }).click();
    await eventually(() => windowRow.textContent()).toContain("180 min");

    await page.getByRole("button", { name: "New patch policy" }).click();
    await page.getByLabel("Policy name").fill("Web servers policy");
    await page.getByLabel("Device group").selectOption(fleet.groupId);
    await page.getByLabel("Installs by itself").selectOption("all");
    await page.getByLabel("Fixes of this severity or higher").selectOption("high");
    await page.getByLabel("Fixes of known exploited vulnerabilities (KEV)").check();
    await page.getByLabel("Never update (held packages)").fill("postgresql-15");
    await page.getByLabel("Maintenance window").selectOption({ label: "Sunday early" });
    await expectAccessible(page, "new patch policy");
    await page.getByRole("button", { name: "Save policy" }).click();
    const policyRow = page.getByRole("row").filter({ hasText: "Web servers policy" });
    await eventually(() => page.getByRole("button", { name: "Save policy" }).count()).toBe(0);
    await eventually(() => policyRow.getByRole("cell").nth(4).textContent()).toBe("Sunday early");

    await page.getByRole("button", { name: "Edit Web servers policy" }).click();
    expect(await page.getByLabel("Never update (held packages)").inputValue()).toBe("postgresql-15");
    await page.getByLabel("Reboot", { exact: true }).selectOption("never");
    await page.getByRole("button", { name: "Save policy" }).click();
    // Saved when the form has closed and the table shows the new value.
    await eventually(() => page.getByRole("button", { name: "Save policy" }).count()).toBe(0);
    await eventually(() => policyRow.getByRole("cell").nth(3).textContent()).toBe("never");
    // The quick switch in the table sends the whole policy back: nothing else is lost.
    await page.getByLabel("Automatic updates for Web servers policy").selectOption("security");
    type PolicyView = { name: string; automatic: string; reboot: string; hold: string[]; approval: unknown };
    const policy = async () =>
      (await fetchJson<PolicyView[]>(page, "/patch-policies")).find((p) => p.name === "Web servers policy");
    await eventually(async () => (await policy())?.automatic).toBe("security");
    expect(await policy()).toMatchObject({
      reboot: "never",
      hold: ["postgresql-15"],
      approval: { minSeverity: "high", kev: true },
    });
    await screenshot(page, "policies");
    const audit = await auditRow(page, "patch_policies.updated");
    expect(await audit.textContent()).toContain("patch_policies.updated");
    expect(errors).toEqual([]);
  });

  it("exports the audit log as CSV with the page's filters", async () => {
    const { page, errors } = await session(orgA.owner.email);
    await auditRow(page, "rollouts.created");
    const link = page.getByRole("link", { name: "Export CSV" });
    const href = (await link.getAttribute("href")) ?? "";
    expect(href).toBe(`/api/v1/orgs/${orgA.organizationId}/audit-events.csv?action=rollouts.created`);
    const csv = await page.evaluate<string, string>(
      async (url) => (await fetch(url, { credentials: "same-origin" })).text(),
      href,
    );
    const lines = csv.trim().split(/\r?\n/);
    expect(lines.length).toBeGreaterThan(2);
    for (const line of lines.slice(1)) expect(line).toContain("rollouts.created");
    expect(errors).toEqual([]);
  });

  it("invites a person, shows the pending invitation, and changes a member's role", async () => {
    const { page, errors } = await session(orgA.owner.email);
    await page.goto(org("team"));
    await page.getByLabel("Email address").fill("new.colleague@example.test");
    await page.getByRole("form", { name: "Invite a person" }).getByRole("combobox").selectOption("admin");
    await page.getByRole("button", { name: "Invite" }).click();
    await eventually(() => page.getByRole("status").textContent()).toContain("Invitation created");
    await eventually(() => page.getByText("new.colleague@example.test as admin").count()).toBe(1);
    expect(
      await page.getByRole("button", { name: "Withdraw invitation for new.colleague@example.test" }).count(),
    ).toBe(1);
    await page.getByLabel("Role of teammate person").selectOption("admin");
    type Member = { id: string; role: string };
    await eventually(
      async () =>
        (await fetchJson<{ items: Member[] }>(page, "/users?limit=100")).items.find((m) => m.id === teammate)
          ?.role,
    ).toBe("admin");
    await expectAccessible(page, "team");
    await screenshot(page, "team");
    const audit = await auditRow(page, "users.role_changed");
    expect(await audit.textContent()).toContain("users.role_changed");
    expect(errors).toEqual([]);
  });

  it("shows an Auditor everything and no change controls", async () => {
    const { page, errors } = await session(auditorEmail);
    await eventually(() => page.getByText("Critical open").count()).toBe(1);
    await page.goto(org("enrolment"));
    await eventually(() => page.getByRole("heading", { name: "Tokens" }).count()).toBe(1);
    expect(await page.getByRole("button", { name: "Create token" }).count()).toBe(0);
    expect(await page.getByRole("button", { name: /^Revoke/ }).count()).toBe(0);
    await page.goto(org(`devices/${fleet.web.deviceId}`));
    await expect
      .poll(() => page.getByRole("row").filter({ hasText: CVE.critical }).count())
      .toBeGreaterThan(0);
    expect(await page.getByRole("button", { name: "Decide…" }).count()).toBe(0);
    await page.goto(org("vulnerabilities"));
    await eventually(() => page.getByRole("link", { name: CVE.critical }).count()).toBe(1);
    expect(await page.getByRole("checkbox").count()).toBe(0);
    expect(await page.getByRole("button", { name: "Create rollout from selection" }).count()).toBe(0);
    await page.goto(org("policies"));
    await eventually(() => page.getByRole("heading", { name: "Patch policies" }).count()).toBe(1);
    await eventually(() => page.getByRole("row").filter({ hasText: "Web servers policy" }).count()).toBe(1);
    expect(await page.getByRole("button", { name: /^(New|Edit|Delete) / }).count()).toBe(0);
    // The organisation switcher is the page's one drop-down: the policies have none.
    expect(await page.getByRole("main").getByRole("combobox").count()).toBe(0);
    await page.goto(org("rollouts"));
    await eventually(() => page.getByRole("heading", { name: "Rollouts" }).count()).toBe(1);
    expect(await page.getByRole("button", { name: "New rollout" }).count()).toBe(0);
    await page.getByRole("link", { name: "curl fix" }).click();
    await eventually(() => page.getByRole("heading", { name: "curl fix" }).count()).toBe(1);
    expect(await page.getByRole("button", { name: /Pause|Cancel rollout|Approve/ }).count()).toBe(0);
    await page.goto(org("team"));
    await eventually(() => page.getByRole("heading", { name: "Members" }).count()).toBe(1);
    expect(await page.getByRole("button", { name: "Invite" }).count()).toBe(0);
    expect(await page.getByRole("button", { name: /^Remove/ }).count()).toBe(0);
    expect(await page.getByLabel(/^Role of/).count()).toBe(0);
    expect(await page.getByRole("button", { name: /^Withdraw/ }).count()).toBe(0);
    await expectAccessible(page, "team as auditor");
    await screenshot(page, "auditor-team");
    expect(errors).toEqual([]);
  });

  it("never shows one organisation's data to another's user", async () => {
    const { page, errors } = await session(orgB.owner.email);
    await page.goto(`${server.url}/orgs/${orgB.organizationId}/devices`);
    await eventually(() => page.getByRole("link", { name: /bravo-web/ }).count()).toBe(1);
    expect(await page.getByText(/alpha-/).count()).toBe(0);
    // Organisation A's addresses, typed in by B's Owner: the page says not found and shows nothing.
    await page.goto(org(`devices/${fleet.web.deviceId}`));
    await eventually(() => page.getByRole("heading", { name: "Organisation not found" }).count()).toBe(1);
    expect(await page.getByText(fleet.web.hostname).count()).toBe(0);
    const options = await page.getByLabel("Organisation").locator("option").allTextContents();
    expect(options).toEqual(["Bravo Ltd"]);
    await screenshot(page, "other-organisation");
    // The API the page uses answers A's device as not found, exactly like a missing one.
    const status = await page.evaluate(
      async (url) => (await fetch(url, { credentials: "same-origin" })).status,
      `/api/v1/orgs/${orgA.organizationId}/devices/${fleet.web.deviceId}`,
    );
    expect([403, 404]).toContain(status);
    expect(errors.filter((e) => !/status of (403|404)/.test(e))).toEqual([]);
  });

  it("works on a 390-wide phone screen, by keyboard, with visible focus", async () => {
    const { page, errors } = await session(orgA.owner.email, "phone");
    await eventually(() => page.getByText("Critical open").count()).toBe(1);
    const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
    expect(overflow).toBeLessThanOrEqual(0);
    await page.getByRole("button", { name: "Menu" }).click();
    await page.getByRole("link", { name: "Vulnerabilities" }).click();
    await eventually(() => page.getByRole("link", { name: CVE.critical }).count()).toBe(1);
    await expectAccessible(page, "vulnerabilities on a phone");
    await screenshot(page, "phone-vulnerabilities");
    // Keyboard: on a freshly opened page the skip link comes first and shows a focus outline.
    await page.goto(org("dashboard"));
    await eventually(() => page.getByText("Critical open").count()).toBe(1);
    await page.keyboard.press("Tab");
    // Evaluated in the page (a string: this file is type-checked without the DOM library).
    const focused = await page.evaluate<{ text: string; outline: string }>(
      "({ text: document.activeElement?.textContent ?? '', outline: getComputedStyle(document.activeElement).outlineStyle })",
    );
    expect(focused.text).toBe("Skip to content");
    expect(focused.outline).not.toBe("none");
    expect(errors).toEqual([]);
  });

  it("signs out, and the console then asks to sign in again", async () => {
    const { page, errors } = await session(orgA.owner.email);
    await page.getByRole("button", { name: "Sign out" }).click();
    await eventually(() => page.getByRole("heading", { name: "Sign in to PatchPilot" }).count()).toBe(1);
    await page.goto(org("dashboard"));
    await eventually(() => page.getByRole("heading", { name: "Sign in to PatchPilot" }).count()).toBe(1);
    await page.getByLabel("Email address").fill(orgA.owner.email);
    await page.getByLabel("Password").fill("not the password at all");
    await page.getByRole("button", { name: "Sign in" }).click();
    await eventually(() => page.getByRole("alert").textContent()).toMatch(/[A-Z].*\./);
    await expectAccessible(page, "sign-in");
    await screenshot(page, "signed-out");
    // The refused sign-in (401) is the one failed load this test causes on purpose.
    expect(errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
  });
});
