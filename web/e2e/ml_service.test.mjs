// The Sync page with an external ML service (docs/ml-service-api.md): a server configured against
// the reference receiver (examples/ml-service/receiver.py) shows the service's URL and, once a
// sync ran, its last acknowledged batch; with the receiver answering 503 a sync fails and its
// detail says why, with the service's reason. (The "not configured" state is checked by
// sync.test.mjs, whose server has no service.)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, Receiver, World, deadline, launchBrowser, login, shot, withPage } from './harness.mjs';

const ENTRIES = 300;
const GOALS = 40;

let receiver;
let world;
let browser;

before(async () => {
  receiver = await Receiver.start();
  world = new World({
    writers: 1,
    entriesPerWriter: ENTRIES,
    goalsPerWriter: GOALS,
    // Small batches, so that a sync is several acknowledged requests; two attempts, so that a
    // service answering 503 fails the job after one short backoff.
    config: `[ml_service]\nurl = "${receiver.url}"\nbatch_items = 50\nmax_attempts = 2\n`,
    env: { MLADMIN_ML_SERVICE_TOKEN: receiver.token },
  });
  await world.setup();
  browser = await launchBrowser();
}, { timeout: 120_000 });

after(async () => {
  await browser?.close();
  await world?.teardown();
  await receiver?.stop();
}, { timeout: 60_000 });

function servicePanel(page) {
  return page.getByRole('region', { name: 'ML service' });
}

/** The text of the fact labelled `label` in the panel (a <dt>, its <dd> after it). */
async function fact(page, label) {
  return servicePanel(page).locator('dt', { hasText: label }).locator('xpath=following-sibling::dd[1]').innerText();
}

test('the Sync page shows the ML service: its URL, then the batches a sync delivered', { timeout: 120_000 }, async (t) =>
  withPage(browser, world, t, async (page) => {
    await login(page, ADMIN.email, ADMIN.password);
    await page.waitForURL(/\/sync$/);
    const panel = servicePanel(page);
    await panel.getByText(receiver.url, { exact: true }).waitFor();
    assert.equal(await fact(page, 'Last acknowledged batch'), 'none since the server started');

    const since = Date.now();
    const form = page.getByRole('group', { name: 'Journal entries' });
    await form.getByLabel('Scope').selectOption({ label: 'All users' });
    await form.getByRole('button', { name: 'Sync Journal Entries' }).click();
    const job = await deadline('the journal sync', 30_000, () => world.newestJob('journal_entries', since));
    const done = await world.waitJob(job.id, 'completed', (j) => j.status === 'completed', 60_000);
    assert.ok(done.syncedItems > 50, `synced ${done.syncedItems}, more than one batch`);

    // The job's end refreshes the panel: a batch acknowledged, at a time the page shows, with its
    // size, its job (a link to the job's detail) and its id.
    await panel.getByText('Acknowledging').waitFor();
    const acknowledged = await fact(page, 'Last acknowledged batch');
    assert.match(
      acknowledged,
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+\d+ upserts?, \d+ deletes?( \(\d+ rejected\))? · job [0-9a-f]{8} · batch [0-9a-f]{8}$/,
    );
    const jobLink = panel.getByRole('link', { name: /^job [0-9a-f]{8}$/ });
    assert.equal(await jobLink.getAttribute('href'), `/sync/jobs/${encodeURIComponent(job.id)}`);
    assert.equal(await fact(page, 'Last error'), 'none');
    assert.match(await fact(page, 'Acknowledgement latency (5 min)'), /^p50 \d+(\.\d)? (ms|s) · p99 \d+(\.\d)? (ms|s)$/);

    // What the panel reports is what the receiver holds: every synced entry, once.
    const held = (await receiver.get('documents')).documents.filter((d) => d.sourceType === 'journal_entries');
    assert.equal(held.length, done.syncedItems);
    await shot(page, t, 'service after a sync');
  }));

test("a sync the service refuses to take fails, and its detail shows the service's reason", { timeout: 120_000 }, async (t) =>
  withPage(browser, world, t, async (page) => {
    await receiver.faults({ failNext: 1000, failStatus: 503 });
    try {
      await login(page, ADMIN.email, ADMIN.password);
      await page.waitForURL(/\/sync$/);
      const since = Date.now();
      const form = page.getByRole('group', { name: 'Goals' });
      await form.getByLabel('Scope').selectOption({ label: 'All users' });
      await form.getByRole('button', { name: 'Sync Goals' }).click();
      const job = await deadline('the goals sync', 30_000, () => world.newestJob('goals', since));
      const failed = await world.waitJob(job.id, 'failed', (j) => j.status === 'failed', 60_000);
      assert.match(failed.failureReason ?? '', /^ML service unavailable: /);

      // The panel says the service is failing, with its last error.
      const panel = servicePanel(page);
      await panel.getByText('Failing').waitFor();
      assert.match(await fact(page, 'Last error'), /ML service unavailable: .*503/);

      // The history row, then the job's detail, name the reason.
      const row = page.getByRole('region', { name: 'Recent sync history' }).locator(`tr[data-job-id="${job.id}"]`);
      await row.getByText(failed.failureReason, { exact: true }).waitFor();
      await row.getByRole('button', { name: /^Details/ }).click();
      const dialog = page.getByRole('dialog', { name: 'Job details' });
      const why = dialog.getByRole('group', { name: 'Why it failed' });
      await why.waitFor();
      assert.equal((await why.innerText()).trim(), `Why it failed: ${failed.failureReason}`);
      await shot(page, t, 'failed job detail');
    } finally {
      await receiver.faults({ reset: true });
    }
  }));
