// Sync page as an admin: sign in, a full sync of ≥ 20,000 journal entries watched live to 100 %
// and into the history, cancel one sync, pause and resume another.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, World, deadline, launchBrowser, login, numberPattern, shot, withPage } from './harness.mjs';

const WRITERS = 2;
const ENTRIES = Number(process.env.E2E_ENTRIES_PER_WRITER || 12_000); // 24,000 journal entries
const GOALS = Number(process.env.E2E_GOALS_PER_WRITER || 20_000); // 40,000 goals

let world;
let browser;

before(async () => {
  world = new World({ writers: WRITERS, entriesPerWriter: ENTRIES, goalsPerWriter: GOALS });
  await world.setup();
  console.log(`# seeded ${WRITERS * ENTRIES} entries and ${WRITERS * GOALS} goals, server up, in ${world.seedMs} ms`);
  browser = await launchBrowser();
}, { timeout: 240_000 });

after(async () => {
  await browser?.close();
  await world?.teardown();
}, { timeout: 60_000 });

/**
 * Installs, in the page, window.__e2eBarValues(name): the values of the progress bars named `name`
 * (role=progressbar or <progress>), and records every value the bar named `name` shows, once per
 * animation frame, in window.__bars. (Written out here rather than passed as a string: the
 * dashboard's Content-Security-Policy forbids eval, rightly.)
 */
async function recordBar(page, name) {
  await page.evaluate((barName) => {
    window.__e2eBarValues = (wanted) => {
      const out = [];
      for (const el of document.querySelectorAll('[role="progressbar"], progress')) {
        let n = el.getAttribute('aria-label');
        const ids = el.getAttribute('aria-labelledby');
        if (!n && ids) n = ids.split(/\s+/).map((id) => document.getElementById(id)?.textContent ?? '').join(' ');
        if ((n ?? '').trim() !== wanted) continue;
        const v = el.getAttribute('aria-valuenow') ?? (el instanceof HTMLProgressElement ? String(el.value) : null);
        if (v !== null) out.push(Number(v));
      }
      return out;
    };
    window.__bars = [];
    const tick = () => {
      for (const v of window.__e2eBarValues(barName)) if (window.__bars.at(-1) !== v) window.__bars.push(v);
      requestAnimationFrame(tick);
    };
    tick();
  }, name);
}

function startForm(page, group) {
  return page.getByRole('group', { name: group });
}

async function startSync(page, group, buttonName, { scope = 'All users', mode = 'Full' } = {}) {
  const form = startForm(page, group);
  await form.getByLabel('Scope').selectOption({ label: scope });
  await form.getByLabel('Mode').selectOption({ label: mode });
  await form.getByRole('button', { name: buttonName }).click();
}

function activePanel(page) {
  return page.getByRole('region', { name: 'Active sync operations' });
}

function historyRows(page) {
  // Row 0 is the header.
  return page.getByRole('region', { name: 'Recent sync history' }).getByRole('table').getByRole('row');
}

test('admin signs in: a wrong password shows the server message, then the admin sees every page', { timeout: 60_000 }, async (t) =>
  withPage(browser, world, t, async (page) => {
    const refused = await world.request('POST', '/api/auth/login', { body: { email: ADMIN.email, password: 'not the password at all' }, raw: true });
    assert.equal(refused.status, 401);
    const message = (await refused.json()).error.message;

    await page.goto('/');
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill('not the password at all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: message }).waitFor();

    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.waitFor();
    for (const link of ['Sync', 'Documents', 'Users', 'Stats']) {
      assert.equal(await nav.getByRole('link', { name: link, exact: true }).count(), 1, `nav link ${link}`);
    }
    await page.getByRole('button', { name: 'Log out' }).waitFor();
    await page.waitForURL(/\/sync$/);
    await activePanel(page).waitFor();
    await page.getByRole('region', { name: 'Recent sync history' }).waitFor();
    await page.locator('.live-indicator[role="status"][data-state="live"]').filter({ hasText: 'Live' }).waitFor();
    // This server has no [ml_service] url: the panel beside the active jobs says so, and nothing more.
    const service = page.getByRole('region', { name: 'ML service' });
    await service.getByText('Not configured', { exact: true }).waitFor();
    assert.match(await service.innerText(), /No external ML service is configured/);
    assert.equal(await service.locator('dt', { hasText: 'URL' }).count(), 0);
  }));

test('a full sync of 24,000 journal entries shows a live bar, reaches 100 % and moves to the history', { timeout: 300_000 }, async (t) =>
  withPage(browser, world, t, async (page) => {
    await login(page, ADMIN.email, ADMIN.password);
    const label = 'Journal entries sync, all users';
    await activePanel(page).waitFor();
    await recordBar(page, `${label} progress`);
    const since = Date.now();
    await startSync(page, 'Journal entries', 'Sync Journal Entries');

    const article = activePanel(page).getByRole('article', { name: label });
    await article.waitFor();
    const bar = article.getByRole('progressbar', { name: `${label} progress` });
    await bar.waitFor();
    assert.equal(await bar.getAttribute('aria-valuemin'), '0');
    assert.equal(await bar.getAttribute('aria-valuemax'), '100');

    // An intermediate value, seen by the page itself at every animation frame.
    const mid = await page.waitForFunction(
      (name) => window.__e2eBarValues(name).find((v) => v > 0 && v < 100) ?? false,
      `${label} progress`,
      { polling: 'raf', timeout: 180_000 },
    );
    const midValue = await mid.jsonValue();
    await shot(page, t, 'running');
    assert.ok(midValue > 0 && midValue < 100, `intermediate value ${midValue}`);
    t.diagnostic(`bar seen at ${midValue} %`);
    // The card shows processed / total beside the bar.
    assert.match(await article.innerText(), numberPattern(WRITERS * ENTRIES), 'the card shows the total');

    // The job ends: its live bar reaches 100 % and the card says Completed for a few seconds, then
    // it leaves the active panel and heads the history, completed, 100 %.
    await deadline('the live bar at 100 % and the card completed', 240_000, async () =>
      (await bar.getAttribute('aria-valuenow').catch(() => null)) === '100' && /completed/i.test(await article.innerText().catch(() => '')),
    );
    await shot(page, t, 'completed');
    await article.waitFor({ state: 'detached', timeout: 30_000 });
    const job = await deadline('the job in the API', 10_000, () => world.newestJob('journal_entries', since, (j) => j.scope === 'all'));
    const done = await world.waitJob(job.id, 'completed', (j) => j.status === 'completed', 30_000);
    assert.ok(done.totalItems >= 20_000, `totalItems ${done.totalItems}`);
    assert.equal(done.processedItems, done.totalItems);
    assert.equal(done.progress, 100);

    const row = historyRows(page).nth(1);
    await deadline('the history row of the finished job', 10_000, async () => {
      const text = await row.innerText();
      return /journal/i.test(text) && /completed/i.test(text) && /100\s*%/.test(text) && numberPattern(done.totalItems).test(text);
    });

    const seen = await page.evaluate(() => window.__bars);
    assert.ok(seen.some((v) => v > 0 && v < 100), `bar values seen: ${seen.join(',')}`);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i] >= seen[i - 1], `the bar went back: ${seen.join(',')}`);
    assert.equal(seen.at(-1), 100, `the live bar ended at 100: ${seen.join(',')}`);
    t.diagnostic(`live bar values: ${seen.length} distinct`);

    // Its details list the item errors the invalid records caused.
    assert.ok(done.failedItems > 0, 'the seeded data has invalid records');
    await row.getByRole('button', { name: 'Details' }).click();
    const details = page.getByRole('dialog', { name: 'Job details' });
    await details.waitFor();
    const firstError = (await world.request('GET', `/api/ml/sync/job/${done.id}/errors?limit=1`, { token: await world.token() })).items[0];
    await details.getByText(firstError.reason).first().waitFor();
    await shot(page, t, 'details');
    // Retry its failed items: the dialog says so, and the job's attempt goes up.
    await details.getByRole('button', { name: 'Retry failed items' }).click();
    await details.getByRole('status').filter({ hasText: 'Retry started: attempt 2.' }).waitFor({ timeout: 15_000 });
    await world.waitJob(done.id, 'retried to the end', (j) => j.attempt === 2 && j.status === 'completed', 60_000);
    await details.getByRole('button', { name: 'Close' }).click();
    await details.waitFor({ state: 'detached' });
  }));

test('cancel a running goals sync', { timeout: 180_000 }, async (t) =>
  withPage(browser, world, t, async (page) => {
    await login(page, ADMIN.email, ADMIN.password);
    const label = 'Goals sync, all users';
    const since = Date.now();
    await startSync(page, 'Goals', 'Sync Goals');
    const article = activePanel(page).getByRole('article', { name: label });
    await article.getByRole('progressbar', { name: `${label} progress` }).waitFor();
    // Running (a queued job has no total yet, and a cancel then proves nothing about "mid-way").
    await article.getByRole('button', { name: 'Pause' }).waitFor({ timeout: 30_000 });
    await article.getByRole('button', { name: 'Cancel' }).click();
    await article.waitFor({ state: 'detached', timeout: 30_000 });

    const job = await world.newestJob('goals', since, (j) => j.scope === 'all');
    assert.ok(job, 'the goals job exists');
    const j = await world.waitJob(job.id, 'cancelled', (x) => ['cancelled', 'completed', 'failed'].includes(x.status), 10_000);
    assert.equal(j.status, 'cancelled');
    assert.ok(j.processedItems < j.totalItems, `cancelled before the end (${j.processedItems}/${j.totalItems})`);
    const row = historyRows(page).nth(1);
    await deadline('the cancelled job in the history', 10_000, async () => {
      const text = await row.innerText();
      return /goal/i.test(text) && /cancelled/i.test(text);
    });
  }));

test('pause and resume a running goals sync', { timeout: 300_000 }, async (t) =>
  withPage(browser, world, t, async (page) => {
    await login(page, ADMIN.email, ADMIN.password);
    const label = 'Goals sync, all users';
    const since = Date.now();
    await startSync(page, 'Goals', 'Sync Goals');
    const article = activePanel(page).getByRole('article', { name: label });
    const bar = article.getByRole('progressbar', { name: `${label} progress` });
    await bar.waitFor();

    await article.getByRole('button', { name: 'Pause' }).click();
    await article.getByRole('button', { name: 'Resume' }).waitFor({ timeout: 10_000 });
    await shot(page, t, 'paused');
    assert.equal(await article.getByRole('button', { name: 'Pause' }).count(), 0, 'no Pause button while paused');
    const job = await world.newestJob('goals', since, (j) => j.scope === 'all');
    const paused = await world.waitJob(job.id, 'paused', (j) => j.status === 'paused', 5_000);
    assert.ok(paused.processedItems < paused.totalItems, 'paused before the end');
    // The bar shows where the job stopped, and the job stays there.
    await deadline('the bar at the paused progress', 5_000, async () => (await bar.getAttribute('aria-valuenow')) === String(paused.progress));
    assert.equal(/paused/i.test(await article.innerText()), true, 'the article says paused');
    const still = await world.job(job.id);
    assert.equal(still.status, 'paused');
    assert.equal(still.processedItems, paused.processedItems, 'nothing processed while paused');

    await article.getByRole('button', { name: 'Resume' }).click();
    const resumed = await world.waitJob(job.id, 'resumed', (j) => j.status !== 'paused', 5_000);
    assert.ok(['queued', 'running', 'completed'].includes(resumed.status), `after resume: ${resumed.status}`);
    await article.waitFor({ state: 'detached', timeout: 240_000 });
    const done = await world.waitJob(job.id, 'completed', (j) => j.status === 'completed', 10_000);
    assert.equal(done.processedItems, done.totalItems);
    const row = historyRows(page).nth(1);
    await deadline('the resumed job in the history, completed', 10_000, async () => {
      const text = await row.innerText();
      return /goal/i.test(text) && /completed/i.test(text) && /100\s*%/.test(text);
    });
  }));

test('the Stats page counts the documents the syncs wrote', { timeout: 90_000 }, async (t) =>
  withPage(browser, world, t, async (page) => {
    const stats = await (await world.admin()).get('/api/ml/stats');
    assert.ok(stats.documents.byType.journal_entries >= 20_000 - 1_000);
    await login(page, ADMIN.email, ADMIN.password);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Stats' }).click();
    await page.getByRole('heading', { level: 1, name: 'Stats' }).waitFor();
    const byType = page.getByRole('region', { name: 'Documents by type' });
    for (const [type, label] of [['journal_entries', 'Journal entries'], ['goals', 'Goals']]) {
      const row = byType.getByRole('row').filter({ has: page.getByRole('rowheader', { name: label }) });
      await deadline(`${label} documents`, 15_000, async () => numberPattern(stats.documents.byType[type]).test(await row.innerText()));
    }
  }));
