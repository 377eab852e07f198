// The README's screenshot of the Sync page with two syncs running live, delivered to the
// reference ML service receiver (examples/ml-service/receiver.py), whose state the page shows.
// Run from web/ with MLADMIN_BIN=<path to mladmin>: node scripts/readme-screenshot.mjs
import { World, ADMIN, Receiver, launchBrowser, login } from '../e2e/harness.mjs';
const receiver = await Receiver.start();
const world = await new World({
  writers: 3,
  entriesPerWriter: 20000,
  goalsPerWriter: 15000,
  config: `[ml_service]\nurl = "${receiver.url}"\n`,
  env: { MLADMIN_ML_SERVICE_TOKEN: receiver.token },
}).setup();
const browser = await launchBrowser();
const context = await browser.newContext({ baseURL: world.baseUrl, viewport: { width: 1280, height: 860 } });
const page = await context.newPage();
await login(page, ADMIN.email, ADMIN.password);
await page.locator('.live-indicator[data-state="live"]').waitFor();
await page.getByRole('group', { name: 'Journal entries' }).getByLabel('Mode').selectOption({ label: 'Full' });
await page.getByRole('group', { name: 'Goals' }).getByLabel('Mode').selectOption({ label: 'Full' });
await page.getByRole('button', { name: 'Sync Journal Entries' }).click();
await page.getByRole('button', { name: 'Sync Goals' }).click();
// Both bars midway, and the ML service panel refreshed since the first batch was acknowledged.
await page.waitForFunction(() => {
  const bars = [...document.querySelectorAll('article [role="progressbar"]')].map((b) => Number(b.getAttribute('aria-valuenow')));
  const service = document.querySelector('section.ml-service')?.textContent ?? '';
  return bars.length === 2 && bars.every((v) => v >= 20 && v < 90) && service.includes('Acknowledging');
}, null, { polling: 'raf', timeout: 120000 });
await page.screenshot({ path: new URL('../../docs/screenshots/sync-live.png', import.meta.url).pathname });
await browser.close();
await world.teardown();
await receiver.stop();
