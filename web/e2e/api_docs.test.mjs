// The API's reference: /api/openapi.json (docs/openapi.yaml as JSON) and the Swagger UI page at
// /api/docs, rendered by Chromium under the server's strict Content-Security-Policy (withPage fails
// on any violation), and the dashboard's footer link to it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, World, launchBrowser, login, withPage } from './harness.mjs';

let world;
let browser;

before(async () => {
  world = new World({ writers: 1, entriesPerWriter: 5 });
  await world.setup();
  browser = await launchBrowser();
}, { timeout: 120_000 });

after(async () => {
  await browser?.close();
  await world?.teardown();
});

test('GET /api/openapi.json answers the OpenAPI document without a token', async () => {
  const res = await fetch(`${world.apiUrl}/api/openapi.json`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  const doc = await res.json();
  assert.equal(doc.openapi, '3.1.0');
  assert.equal(doc.paths['/api/ml/sync/job/{jobId}'].get['x-mladmin-role'], 'user');
});

test('the API reference renders at /api/docs under the Content-Security-Policy', async (t) => {
  await withPage(browser, world, t, async (page) => {
    const res = await page.goto('/api/docs');
    assert.match(res.headers()['content-security-policy'] ?? '', /script-src 'self'/);
    await page.getByRole('heading', { name: /mladmin API/ }).waitFor();
    // One block per operation, grouped by tag.
    await page.locator('.opblock').nth(30).waitFor();
    const events = page.locator('.opblock', { hasText: '/api/ml/sync/events' });
    await events.locator('.opblock-summary').first().click();
    await events.getByText('keep-alive', { exact: false }).first().waitFor();
  });
});

test('the dashboard footer links to the API reference', async (t) => {
  await withPage(browser, world, t, async (page) => {
    await login(page, ADMIN.email, ADMIN.password);
    const link = page.getByRole('link', { name: 'API documentation' });
    assert.equal(await link.getAttribute('href'), '/api/docs');
    await link.click();
    await page.getByRole('heading', { name: /mladmin API/ }).waitFor();
  });
});
