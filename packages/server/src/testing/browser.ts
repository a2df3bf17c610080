import { mkdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { expect } from "vitest";
import { requirePeer } from "./peers.js";

/** Debian's chromium; no downloaded browser. */
export const CHROMIUM = "/usr/bin/chromium";
export const SCREENSHOTS = fileURLToPath(new URL("../../../../test-output/console/", import.meta.url));

export function chromiumAvailable(): boolean {
  return requirePeer("chromium", "chromium");
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
}

export interface ConsolePage {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught exceptions the page produced. */
  errors: string[];
}

/** A fresh browser profile (no cookies) on the console, at a desktop or phone size. */
export async function openConsole(
  browser: Browser,
  size: "desktop" | "phone" = "desktop",
): Promise<ConsolePage> {
  const context = await browser.newContext({
    // The test server's certificate comes from its own fresh CA, which this profile does not know.
    ignoreHTTPSErrors: true,
    viewport: size === "desktop" ? { width: 1280, height: 800 } : { width: 390, height: 844 },
    ...(size === "phone" ? { isMobile: true, hasTouch: true } : {}),
  });
  const page = await context.newPage();
  const errors: string[] = [];
  // Signed out, the console learns so from GET /api/v1/me answering 401; chromium logs every
  // non-2xx load as a console error, so exactly those expected answers are not counted.
  let expectedUnauthorized = 0;
  page.on("response", (response) => {
    if (response.status() === 401 && new URL(response.url()).pathname === "/api/v1/me")
      expectedUnauthorized++;
  });
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    if (expectedUnauthorized > 0 && /status of 401/.test(message.text())) {
      expectedUnauthorized--;
      return;
    }
    errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(error.message));
  return { context, page, errors };
}

const require = createRequire(import.meta.url);
let axeSource: Promise<string> | null = null;

/**
 * Runs axe-core in the page and fails on any serious or critical violation. The script is
 * evaluated through the DevTools protocol, so the page's CSP (no inline scripts) stays on.
 */
export async function expectAccessible(page: Page, label: string): Promise<void> {
  axeSource ??= readFile(require.resolve("axe-core/axe.min.js"), "utf8");
  await page.evaluate(await axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run();
    return result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  });
  expect(violations, `accessibility of ${label}`).toEqual([]);
}

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

export async function signIn(page: Page, baseUrl: string, email: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/`);
  await page.getByLabel("Email address").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/orgs\/[0-9a-f-]{36}\/dashboard$/);
}
