// How the server delivers the UI: the redirect, content types, the strict CSP, revalidation,
// and that the API beside it is unchanged.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { BASE } from './harness.js';

const REQUIRED_CSP = ["default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"];

test('the UI is served at /ui/ with types, a strict CSP and ETags', async () => {
  const root = await fetch(`${BASE}/`, { redirect: 'manual' });
  assert.ok(root.status >= 300 && root.status < 400, `/ answered ${root.status}`);
  assert.equal(root.headers.get('location'), '/ui/');

  const page = await fetch(`${BASE}/ui/`);
  assert.equal(page.status, 200);
  assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
  const csp = page.headers.get('content-security-policy').split(';').map((d) => d.trim());
  for (const directive of REQUIRED_CSP) assert.ok(csp.includes(directive), `CSP lacks ${directive}: ${csp}`);
  assert.ok(!csp.join(' ').includes('unsafe-'), 'no unsafe-* source');
  assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(page.headers.get('cache-control'), 'no-cache');
  const html = await page.text();
  assert.match(html, /<script type="module" src="\/ui\/js\/app\.js"><\/script>/);

  const script = await fetch(`${BASE}/ui/js/app.js`);
  assert.equal(script.headers.get('content-type'), 'text/javascript; charset=utf-8');
  const etag = script.headers.get('etag');
  assert.match(etag, /^"[0-9a-f]{32}"$/);
  const again = await fetch(`${BASE}/ui/js/app.js`, { headers: { 'If-None-Match': etag } });
  assert.equal(again.status, 304);

  assert.equal((await fetch(`${BASE}/ui/js/nope.js`)).status, 404);
  // The UI needs no token; the API still does.
  assert.equal((await fetch(`${BASE}/api/v1/tasks`)).status, 401);
  assert.equal((await fetch(`${BASE}/api/v1/healthz`)).status, 200);
});
