// Headless Chromium (Debian's, WebGPU on SwiftShader's Vulkan) for the tests that run rhc in a
// page: the browser example, its demo, and the installed package's bundled page.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--enable-unsafe-webgpu', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'];

/** Whether the browser tests run: always in CI (where a missing Chromium fails them), elsewhere where it is installed. */
export const chromiumRunnable = Boolean(process.env.CI) || fs.existsSync(CHROMIUM);

export interface ChromiumTab {
  browser: BrowserContext;
  tab: Page;
  /** the page's console lines and uncaught errors, for a failure's message */
  messages: string[];
  /** closes the browser and deletes its profile */
  close(): Promise<void>;
}

/** One tab of a headless Chromium on a fresh profile, its console and page errors collected. */
export async function openChromiumTab(viewport?: { width: number; height: number }): Promise<ChromiumTab> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'rhc-chromium-'));
  let browser: BrowserContext | undefined;
  const close = async () => {
    await browser?.close();
    fs.rmSync(profile, { recursive: true, force: true });
  };
  try {
    browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, ...(viewport ? { viewport } : {}) });
    const tab = await browser.newPage();
    const messages: string[] = [];
    tab.on('console', (m) => messages.push(`${m.type()}: ${m.text()}`));
    tab.on('pageerror', (e) => messages.push(`pageerror: ${e.message}`));
    return { browser, tab, messages, close };
  } catch (e) {
    await close();
    throw e;
  }
}
