// Shared by the browser tests: the server under test (from the environment set by
// .ci/browser-tests.sh), a fresh headless Chromium per test file, direct API calls to set up and
// check state, and a poll-with-deadline helper (no fixed sleeps).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { chromium } from 'playwright-core';

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through .ci/browser-tests.sh`);
  return value;
}

export const BASE = required('UI_TEST_URL').replace(/\/$/, '');
/** A second server, without tokens. */
export const OPEN_BASE = required('UI_TEST_OPEN_URL').replace(/\/$/, '');
export const ADMIN = required('UI_TEST_ADMIN_TOKEN');
export const READ = required('UI_TEST_READ_TOKEN');
export const SHOTS = process.env.UI_TEST_SCREENSHOTS ?? fs.mkdtempSync(path.join(os.tmpdir(), 'cogman-shots-'));
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** Default wait for anything the UI does. */
export const WAIT = 15000;

/** A unique suffix so tests never see each other's tasks. */
export function unique(prefix) {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Calls `probe` until it returns a truthy value; fails with `message` after `timeout` ms. */
export async function poll(probe, { timeout = WAIT, interval = 100, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await probe();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${message} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    }
    await new Promise((resolve) => { setTimeout(resolve, interval); });
  }
}

/** A request to the API; resolves to {status, body}. */
export async function call(method, route, { token = ADMIN, body } = {}) {
  const headers = { Accept: 'application/json', 'X-Cogman-Client': 'browser-tests' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(`${BASE}/api/v1${route}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** Sends a task through the API and returns its id. */
export async function sendTask(task) {
  const { status, body } = await call('POST', '/tasks', { body: task });
  assert.ok(status === 201 || status === 202, `send answered ${status}: ${JSON.stringify(body)}`);
  return body.id;
}

/** Waits until the task is in `state` (per the API) and returns its details. */
export async function waitForState(id, state, timeout = WAIT) {
  return poll(async () => {
    const { body } = await call('GET', `/tasks/${id}`);
    return body?.task?.status === state ? body : false;
  }, { timeout, message: `task ${id} to be ${state}` });
}

/**
 * A fresh Chromium with its own profile. Every page records dialogs, uncaught errors and CSP
 * violations so tests can assert there were none.
 */
export async function launch() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'cogman-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  context.setDefaultTimeout(WAIT);
  await context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  const problems = [];
  const dialogs = [];
  context.on('page', (page) => watch(page, problems, dialogs));
  for (const page of context.pages()) watch(page, problems, dialogs);
  return {
    context,
    problems,
    dialogs,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

function watch(page, problems, dialogs) {
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('dialog', async (dialog) => {
    dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    await dialog.dismiss();
  });
}

/** The CSP violations a page has seen. */
export function cspViolations(page) {
  return page.evaluate(() => window.__cspViolations ?? []);
}

/**
 * Opens the UI at `hash` with `token` entered in the token box (or none), and waits until the
 * session's role is known.
 */
export async function openUi(context, { token = ADMIN, hash = '#/', role, base = BASE } = {}) {
  const page = await context.newPage();
  await page.goto(`${base}/ui/${hash}`);
  await page.locator('#role:not([data-role="checking"])').waitFor();
  if (token) {
    await page.fill('#token-input', token);
    await page.click('#token-form button[type=submit]');
  }
  const expected = role ?? (token === ADMIN ? 'admin' : token === READ ? 'read' : null);
  if (expected) await page.locator(`#role[data-role="${expected}"]`).waitFor();
  return page;
}

/** Goes to a view by its hash and waits for it to mount. */
export async function show(page, hash, view) {
  await page.evaluate((h) => { window.location.hash = h; }, hash);
  await page.locator(`[data-view="${view}"]`).waitFor();
}

/** Saves a screenshot under SHOTS and returns its path. */
export async function screenshot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
