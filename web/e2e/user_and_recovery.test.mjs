// A `user` sees only the Sync page and only their own jobs; and the dashboard recovers when the
// server (and with it the event stream) goes away and comes back on the same address.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, WRITER_PASSWORD, World, deadline, launchBrowser, login, withPage, writerEmail } from './harness.mjs';

let world;
let browser;

before(async () => {
  world = new World({ writers: 2, entriesPerWriter: 300, goalsPerWriter: 30 });
  await world.setup();
  browser = await launchBrowser();
}, { timeout: 240_000 });

after(async () => {
  await browser?.close();
  await world?.teardown();
}, { timeout: 60_000 });

function historyRows(page) {
  return page.getByRole('region', { name: 'Recent sync history' }).getByRole('table').getByRole('row');
}

test('a user has no Users page and sees only their own jobs', { timeout: 120_000 }, async (t) =>
  withPage(browser, world, t, async (page) => {
    // A job writer1 may not read: the admin syncs writer2's goals.
    const admin = await world.admin();
    const writer2 = await world.userId(writerEmail(2));
    const other = await admin.post('/api/ml/sync/goals', { userId: writer2, mode: 'full' });
    await world.waitJob(other.id, 'completed', (j) => j.status === 'completed', 60_000);

    const serviceRequests = [];
    page.on('request', (r) => new URL(r.url()).pathname === '/api/ml/service' && serviceRequests.push(r.url()));
    await login(page, writerEmail(1), WRITER_PASSWORD);
    const nav = page.getByRole('navigation', { name: 'Main' });
    assert.equal(await nav.getByRole('link', { name: 'Sync', exact: true }).count(), 1);
    for (const hidden of ['Users', 'Documents', 'Stats']) {
      assert.equal(await nav.getByRole('link', { name: hidden }).count(), 0, `no ${hidden} link for a user`);
    }

    // The scope is the user's own records only.
    const form = page.getByRole('group', { name: 'Journal entries' });
    await form.getByLabel('Scope').waitFor(); // the Sync page is loaded on demand
    const options = await form.getByLabel('Scope').locator('option').allInnerTexts();
    assert.deepEqual(options.map((o) => o.trim()), ['My records']);
    // The ML service's state is for ml_admin and admin: no panel, no request answered 403, no alert.
    assert.equal(await page.getByRole('region', { name: 'ML service' }).count(), 0);
    assert.deepEqual(serviceRequests, []);

    // Their own sync, started from the page, runs and lands in the history.
    await form.getByRole('button', { name: 'Sync Journal Entries' }).click();
    const rows = historyRows(page);
    await deadline('the own job in the history, completed', 60_000, async () => {
      const texts = await rows.allInnerTexts();
      return texts.slice(1).some((x) => /journal/i.test(x) && /completed/i.test(x));
    });

    const me = await world.as(writerEmail(1), WRITER_PASSWORD);
    const mine = (await me.get('/api/ml/sync/jobs?limit=500')).items;
    assert.ok(mine.every((j) => j.id !== other.id), 'the API does not list writer2’s job to writer1');
    const all = (await admin.get('/api/ml/sync/jobs?limit=500')).items;
    assert.ok(all.length > mine.length);
    const texts = (await rows.allInnerTexts()).slice(1).filter((x) => x.trim() !== '');
    assert.equal(texts.length, mine.length, `history rows:\n${texts.join('\n')}`);
    assert.ok(!texts.some((x) => /goal/i.test(x)), 'no goals job (writer2’s) in the user’s history');

    // The Users page is not there for a user, even by its address.
    await page.goto('/users');
    await page.waitForURL(/\/sync$/);
    assert.equal(await page.getByRole('heading', { name: 'Users' }).count(), 0);
    assert.equal(await page.getByLabel('Search users').count(), 0);
  }));

test('the page says the live stream dropped, reconnects when the server is back, and updates again', { timeout: 180_000 }, async (t) =>
  withPage(browser, world, t, async (page) => {
    // At least one job in the history to begin with.
    const admin = await world.admin();
    const writer2 = await world.userId(writerEmail(2));
    const first = await admin.post('/api/ml/sync/journal-entries', { userId: writer2, mode: 'full' });
    await world.waitJob(first.id, 'completed', (j) => j.status === 'completed', 60_000);

    await login(page, ADMIN.email, ADMIN.password);
    const indicator = page.locator('.live-indicator[role="status"]');
    await indicator.and(page.locator('[data-state="live"]')).waitFor({ timeout: 15_000 });
    assert.equal((await indicator.innerText()).trim(), 'Live');
    const rows = historyRows(page);
    await rows.first().waitFor();
    const before = (await rows.allInnerTexts()).length;

    await world.stop();
    await indicator.and(page.locator('[data-state="reconnecting"]')).waitFor({ timeout: 20_000 });
    assert.notEqual((await indicator.innerText()).trim(), 'Live', 'the page says the stream is down');

    await world.start();
    await indicator.and(page.locator('[data-state="live"]')).waitFor({ timeout: 40_000 });
    // Still signed in: the outage is not a 401.
    await page.getByRole('navigation', { name: 'Main' }).waitFor();

    // A job started elsewhere after the restart reaches the page without a reload.
    const writer1 = await world.userId(writerEmail(1));
    const job = await admin.post('/api/ml/sync/journal-entries', { userId: writer1, mode: 'full' });
    await world.waitJob(job.id, 'completed', (j) => j.status === 'completed', 60_000);
    await deadline('the new job in the history', 15_000, async () => {
      const texts = await rows.allInnerTexts();
      return texts.length === before + 1 && /journal/i.test(texts[1]) && /completed/i.test(texts[1]);
    });
  }));
