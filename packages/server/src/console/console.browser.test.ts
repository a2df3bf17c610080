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
