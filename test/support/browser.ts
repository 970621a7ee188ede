import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type Locator,
  type Page,
} from 'playwright-core';
import { projectRoot, toolPaths } from './tools';

/** Where the browser tests leave their screenshots (under .relguard/, which git ignores). */
export const screenshotsDir = path.join(projectRoot, '.relguard', 'screenshots');

/** The key the console keeps its api token under, in localStorage. */
export const tokenKey = 'relguard.token';

/**
 * Debian's chromium (temporal-dev.sh installs it), driven by playwright-core, headless.
 * playwright-core has no install script and downloads nothing when it launches a browser at
 * a given path.
 */
export async function launchChromium(): Promise<Browser> {
  const executablePath = toolPaths().chromium;
  if (!existsSync(executablePath)) {
    throw new Error(
      `chromium is not installed (no ${executablePath}): run ./temporal-dev.sh test, which installs chromium`,
    );
  }
  return await chromium.launch({
    executablePath,
    headless: true,
    timeout: 60_000,
    // No sandbox: the tests run as root in containers, where chromium's sandbox cannot start.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}

export interface ConsolePage {
  page: Page;
  context: BrowserContext;
  /** What went wrong: uncaught errors, errors the page logged, and 5xx answers it got. */
  problems: string[];
  close(): Promise<void>;
}

/**
 * A page in a context of its own (its own localStorage), signed in with `token` when one is
 * given: the token is in localStorage before any script of the console runs.
 */
export async function openConsolePage(
  browser: Browser,
  options: { token?: string; permissions?: string[] } = {},
): Promise<ConsolePage> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  if (options.permissions !== undefined) await context.grantPermissions(options.permissions);
  if (options.token !== undefined) {
    await context.addInitScript({
      content: `localStorage.setItem(${JSON.stringify(tokenKey)}, ${JSON.stringify(options.token)});`,
    });
  }
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    // Chromium logs every answer >= 400 as "Failed to load resource": a 404 while a report is
    // not written yet is expected; server errors are caught below instead.
    if (message.type() !== 'error' || message.text().startsWith('Failed to load resource')) return;
    problems.push(`console error: ${message.text()}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 500) {
      problems.push(`${response.status()} from ${response.request().method()} ${response.url()}`);
    }
  });
  return { page, context, problems, close: () => context.close() };
}

/** Saves the whole page as `.relguard/screenshots/<name>.png` and returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  await mkdir(screenshotsDir, { recursive: true });
  const file = path.join(screenshotsDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Saves one part of a page (a section, a chart) as `.relguard/screenshots/<name>.png`. */
export async function saveElementScreenshot(element: Locator, name: string): Promise<string> {
  await mkdir(screenshotsDir, { recursive: true });
  const file = path.join(screenshotsDir, `${name}.png`);
  await element.screenshot({ path: file });
  return file;
}
