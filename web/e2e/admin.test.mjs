// Documents and Users pages as an admin: full-text search, bulk delete of a filtered set and of a
// selection, both with the confirm step; a user's role changed from the Users page.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, World, deadline, launchBrowser, login, shot, withPage, writerEmail } from './harness.mjs';

let world;
let browser;
let writer1;
let writer2;

// Words that seed-demo never writes, so that a search finds exactly the records imported here.
const FILTERED = 'zebracorn';
const SELECTED = 'quokkafin';
const FILTERED_COUNT = 25; // writer1's, the set the user filter selects
const OTHER_COUNT = 5; // writer2's, with the same word: the filter must leave them out

before(async () => {
  world = new World({ writers: 3, entriesPerWriter: 200, goalsPerWriter: 20 });
  await world.setup();
  browser = await launchBrowser();
  const admin = await world.admin();
  writer1 = await world.userId(writerEmail(1));
  writer2 = await world.userId(writerEmail(2));
  const lines = [];
  for (let i = 0; i < FILTERED_COUNT; i++) {
    lines.push(JSON.stringify({ userId: writer1, id: `e2e-z-${i}`, title: `Field note ${i} ${FILTERED}`, body: `Saw a ${FILTERED} near the river, number ${i}.` }));
  }
  for (let i = 0; i < OTHER_COUNT; i++) {
    lines.push(JSON.stringify({ userId: writer2, id: `e2e-z2-${i}`, title: `Other note ${i} ${FILTERED}`, body: `A ${FILTERED} seen by someone else, number ${i}.` }));
  }
  for (let i = 0; i < 3; i++) {
    lines.push(JSON.stringify({ userId: writer1, id: `e2e-q-${i}`, title: `Shore log ${i} ${SELECTED}`, body: `A ${SELECTED} on the shore, number ${i}.` }));
  }
  const imported = await admin.post('/api/import?type=journal_entries', lines.join('\n') + '\n', { contentType: 'application/x-ndjson' });
  assert.equal(imported.failed, 0, JSON.stringify(imported.errors));
  const job = await admin.post('/api/ml/sync/journal-entries', { scope: 'all', mode: 'full' });
  await world.waitJob(job.id, 'completed', (j) => j.status === 'completed', 120_000);
}, { timeout: 240_000 });

after(async () => {
  await browser?.close();
  await world?.teardown();
}, { timeout: 60_000 });

async function searchDocuments(page, q) {
  await page.getByLabel('Search documents').fill(q);
  await page.getByRole('button', { name: 'Search', exact: true }).click();
}

async function docCount(q) {
  const admin = await world.admin();
  const r = await admin.get(`/api/ml/documents?q=${encodeURIComponent(q)}&limit=500`);
  return r.items.length;
}

test('search documents and bulk-delete the filtered set after the confirm step', { timeout: 120_000 }, async (t) =>
  withPage(browser, world, t, async (page) => {
    assert.equal(await docCount(FILTERED), FILTERED_COUNT + OTHER_COUNT);
    const othersBefore = await docCount('morning');
    assert.ok(othersBefore > 0);

    await login(page, ADMIN.email, ADMIN.password);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Documents' }).click();
    await page.waitForURL(/\/documents/);
    await searchDocuments(page, FILTERED);
    const table = page.getByRole('table');
    const rowsFound = () => table.getByRole('checkbox', { name: /^Select .*zebracorn/ }).count();
    await deadline('every document with the word', 15_000, async () => (await rowsFound()) === FILTERED_COUNT + OTHER_COUNT);
    await page.getByLabel('User id').fill(writer1);
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.waitForURL((url) => url.searchParams.get('userId') === writer1);

    // One row per document of writer1 found (and a header row), each with its own checkbox.
    await deadline(`${FILTERED_COUNT} result rows`, 15_000, async () => (await table.getByRole('checkbox', { name: /^Select .*zebracorn/ }).count()) === FILTERED_COUNT);
    const text = await table.innerText();
    assert.ok(!/Shore log/.test(text), 'the other imported records are not in the results');
    assert.ok(!/Other note/.test(text), "writer2's documents are filtered out");

    await page.getByRole('button', { name: 'Delete all matching' }).click();
    const dialog = page.getByRole('dialog', { name: 'Confirm bulk delete' });
    await dialog.waitFor();
    await dialog.getByText(`${FILTERED_COUNT} documents will be deleted`).waitFor();
    await shot(page, t, 'confirm');
    await dialog.getByRole('button', { name: `Delete ${FILTERED_COUNT} documents` }).click();
    await dialog.waitFor({ state: 'detached', timeout: 15_000 });
    await page.getByRole('status').filter({ hasText: /delet/i }).first().waitFor({ timeout: 30_000 });

    await deadline('the filtered documents gone in the API', 30_000, async () => (await docCount(FILTERED)) === OTHER_COUNT);
    assert.equal(await docCount(SELECTED), 3, 'documents outside the filter stay');
    assert.equal(await docCount('morning'), othersBefore, 'documents outside the filter stay');
    // The list refreshes itself: no result row is left.
    await deadline('the results emptied', 15_000, async () => (await table.getByRole('checkbox', { name: /^Select .*zebracorn/ }).count()) === 0);
  }));

test('select one document and delete it; Cancel in the confirm dialog deletes nothing', { timeout: 120_000 }, async (t) =>
  withPage(browser, world, t, async (page) => {
    await login(page, ADMIN.email, ADMIN.password);
    await page.goto('/documents');
    await searchDocuments(page, SELECTED);
    const box = page.getByRole('checkbox', { name: `Select Shore log 1 ${SELECTED}` });
    await box.check();

    await page.getByRole('button', { name: 'Delete selected' }).click();
    let dialog = page.getByRole('dialog', { name: 'Confirm bulk delete' });
    await dialog.getByText(/^1 documents? will be deleted/).waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await docCount(SELECTED), 3, 'Cancel deleted nothing');

    await page.getByRole('button', { name: 'Delete selected' }).click();
    dialog = page.getByRole('dialog', { name: 'Confirm bulk delete' });
    await dialog.getByRole('button', { name: /^Delete 1 documents?$/ }).click();
    await dialog.waitFor({ state: 'detached', timeout: 15_000 });
    await deadline('one document deleted', 15_000, async () => (await docCount(SELECTED)) === 2);
    const admin = await world.admin();
    const left = (await admin.get(`/api/ml/documents?q=${SELECTED}`)).items.map((d) => d.title);
    assert.ok(!left.some((x) => x.startsWith('Shore log 1 ')), `left: ${left}`);
    await page.getByRole('checkbox', { name: `Select Shore log 1 ${SELECTED}` }).waitFor({ state: 'detached', timeout: 15_000 });
  }));

test("change a user's role on the Users page", { timeout: 90_000 }, async (t) =>
  withPage(browser, world, t, async (page) => {
    const email = writerEmail(2);
    const id = await world.userId(email);
    const admin = await world.admin();
    assert.equal((await admin.get(`/api/ml/admin/users/${id}`)).role, 'user');

    await login(page, ADMIN.email, ADMIN.password);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click();
    await page.waitForURL(/\/users/);
    await page.getByLabel('Search users').fill('writer2');
    const role = page.getByRole('combobox', { name: `Role for ${email}` });
    await role.waitFor();
    // Only the matching user is listed.
    await deadline('the search narrowed to writer2', 15_000, async () => (await page.getByRole('combobox', { name: /^Role for / }).count()) === 1);
    await role.selectOption('ml_admin');
    // Choosing is not changing (arrow keys on a select would otherwise send it): Save sends it.
    assert.equal((await admin.get(`/api/ml/admin/users/${id}`)).role, 'user', 'nothing sent before Save');
    await page.getByRole('button', { name: `Save role for ${email}` }).click();
    await page.getByRole('status').filter({ hasText: `${email} is now ML admin` }).waitFor({ timeout: 15_000 });
    assert.equal(await role.inputValue(), 'ml_admin', 'the select shows the new role at once');
    await deadline('the role changed in the API', 15_000, async () => (await admin.get(`/api/ml/admin/users/${id}`)).role === 'ml_admin');
    await page.reload();
    await page.getByLabel('Search users').fill('writer2');
    await deadline('the select shows the new role after a reload', 15_000, async () => (await page.getByRole('combobox', { name: `Role for ${email}` }).inputValue()) === 'ml_admin');
  }));
