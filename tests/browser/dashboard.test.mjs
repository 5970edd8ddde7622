// The hub dashboard in headless Debian chromium, driven by playwright-core (no browser download).
// Run by browser_dashboard_test (C++), which starts a real exportsync-hub, seeds it through the
// HTTP API and passes seed.json: node dashboard.test.mjs seed.json
//
// Flow: wrong then right login; the 12 regions with their colours; numbers in fr-MA; page
// weight ≤ 300 KB and no CSP violation; an agent goes silent and its region turns red (with an
// open « agent-silent » alert); its agent page; a region page after a reload; a phone-width
// layout (one column); an enrolment code created from the page and used to enrol; an agent
// revoked from the page; the indicators and their CSV downloads (checked line by line); logout.
// Screenshots in seed.artifacts (overview.png is printed).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const seed = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const { chromium } = createRequire(path.join(seed.node_dir, 'package.json'))('playwright-core');

const NNBSP = '\u202f';
const MAX_WEIGHT = 300 * 1024;
const started = Date.now();
const log = (...a) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s]`, ...a);

// --- heartbeats, as agents send them (agent/src/agent.cpp statusJson) -------------------------
const silenced = new Set();
function heartbeat(agent) {
  const p = agent.profile;
  const failing = p === 'plugin-failing';
  const late = p === 'late';
  return {
    version: '0.1.0', region: agent.region, time: Math.floor(Date.now() / 1000),
    plugins: [{
      name: 'artisanat', version: '1.2.0', file: 'artisanat.so', enabled: true, loaded: true,
      last_result: failing ? 'failed' : 'ok', last_error: failing ? 'fichier « ventes.csv » illisible : ligne 3' : '',
      rows_upserted: 120, rows_removed: 0, rows_rejected: failing ? 7 : 0, quarantined: false,
    }, ...(failing ? [{
      name: 'cooperatives', version: '0.9.0', file: 'cooperatives.so', enabled: true, loaded: false,
      refused: 'ABI du plugin incompatible (2, attendue 1)', rows_upserted: 0, rows_removed: 0, rows_rejected: 0,
      quarantined: false,
    }] : [])],
    sync: {
      state: 'synced', agent_id: agent.id, hub_url: seed.url, hub_reachable: true, acked_seq: 0,
      last_sync_ok_at: Math.floor(Date.now() / 1000) - 5, last_result: 'sent', last_error: '', last_error_at: 0,
      batch_rows: 5000, rows_sent: 0, bytes_sent: 0, backlog_warning: false, backlog_full: false,
    },
    backlog_rows: late ? 420 : 0,
    backlog_bytes: late ? 131072 : 0,
    oldest_unacked_age_s: late ? 1500 : 0,
    disk_free_bytes: p === 'disk-low' ? 300 * 1024 * 1024 : 52_000_000_000,
  };
}
async function beat(agent) {
  const r = await fetch(`${seed.url}/api/v1/status`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${agent.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(heartbeat(agent)),
  });
  await r.arrayBuffer();
  return r.status;
}
let beating = true;
async function beatAll() {
  for (const a of seed.agents) {
    if (!silenced.has(a.id) && !a.revoked) {
      const s = await beat(a);
      if (s !== 200) log(`heartbeat of ${a.id} answered ${s}`);
    }
  }
}
async function heartbeatLoop() {
  while (beating) {
    await beatAll().catch((e) => log('heartbeat error', e.message));
    await new Promise((r) => setTimeout(r, 2000));
  }
}

// --- helpers ------------------------------------------------------------------------------------
async function apiAsAdmin(page, p) {
  return page.evaluate(async (url) => (await fetch(url, { cache: 'no-store' })).json(), p);
}
function csvLines(text) {
  return text.split('\n').filter((l) => l.length > 0);
}

const victim = seed.agents.find((a) => a.profile === 'victim');
const spare = seed.agents.find((a) => a.profile === 'spare');
const shots = [];
async function shot(page, name, fullPage = true) {
  const file = path.join(seed.artifacts, name);
  await page.screenshot({ path: file, fullPage });
  shots.push(file);
  return file;
}

// --- the test -----------------------------------------------------------------------------------
await beatAll();
const loop = heartbeatLoop();
const browser = await chromium.launch({
  executablePath: seed.chromium,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
log(`chromium ${browser.version()} (${seed.chromium})`);
const context = await browser.newContext({
  viewport: { width: 1366, height: 900 }, locale: 'fr-MA', timezoneId: 'Africa/Casablanca', acceptDownloads: true,
});
const page = await context.newPage();
const problems = [];
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
page.on('console', (m) => {
  const t = m.text();
  if (/Content Security Policy|Refused to/i.test(t)) problems.push(`CSP: ${t}`);
  else if (m.type() === 'error' && !/status of 401/.test(t)) problems.push(`console error: ${t}`);
});
const assetBytes = new Map();
page.on('response', async (r) => {
  const u = new URL(r.url());
  if (u.origin === new URL(seed.url).origin && !u.pathname.startsWith('/api/') && r.status() === 200) {
    try {
      assetBytes.set(u.pathname, (await r.body()).length);
    } catch {
      // a body that was not kept (redirect): ignored
    }
  }
});

let failed = false;
try {
  // 1. Login: a wrong password is refused in French, then the right one opens the overview.
  await page.goto(seed.url);
  await page.locator('#login-user').waitFor();
  assert.equal(await page.getAttribute('html', 'lang'), 'fr');
  await page.fill('#login-user', seed.user);
  await page.fill('#login-password', 'pas le bon mot de passe');
  await page.click('#login-submit');
  await page.locator('#login-error', { hasText: 'Identifiant ou mot de passe incorrect.' }).waitFor();
  await page.fill('#login-password', seed.password);
  await page.click('#login-submit');
  await page.locator('#regions li.region').first().waitFor({ timeout: 30000 });
  log('logged in');

  // 2. The 12 regions, in French (and Arabic), with their health.
  const regions = page.locator('#regions li.region');
  assert.equal(await regions.count(), 12, 'the overview shows 12 regions');
  const names = await page.locator('#regions li.region h3 a').allTextContents();
  assert.deepEqual(names.slice(0, 3), ['Tanger-Tétouan-Al Hoceïma', "L'Oriental", 'Fès-Meknès']);
  assert.ok(names.includes('Drâa-Tafilalet') && names.includes('Laâyoune-Sakia El Hamra'));
  const card = (code) => page.locator(`#regions li.region[data-region="${code}"]`);
  const healthOf = async (code) => card(code).getAttribute('data-health');
  // The monitor may need one evaluation: wait for the expected colours.
  const expectHealth = async (code, health, timeout = 30000) => {
    await page.locator(`#regions li.region[data-region="${code}"][data-health="${health}"]`).waitFor({ timeout });
  };
  await expectHealth('MA-01', 'green');
  await expectHealth('MA-03', 'amber'); // sync late
  await expectHealth('MA-09', 'amber'); // failing plugin
  await expectHealth('MA-11', 'amber'); // low disk
  await expectHealth('MA-12', 'none'); // no agent yet
  assert.equal(await healthOf(victim.region), 'green', 'the victim starts green');
  assert.match(await card('MA-01').innerText(), /Synchronisé/);
  assert.match(await card('MA-03').innerText(), /En retard/);
  assert.match(await card('MA-03').innerText(), /Synchronisation en retard/);
  assert.match(await card('MA-09').innerText(), /Plugin en échec/);
  assert.match(await card('MA-12').innerText(), /Aucun agent/);
  assert.match(await card('MA-06').innerText(), /2 actifs/);
  assert.match(await card('MA-03').innerText(), /420 lignes · 128\sKo/);
  assert.match(await card('MA-03').innerText(), /Plus ancien changement non acquitté\s*2[56]\smin/);
  assert.match(await card('MA-03').innerText(), /طنجة|فاس/); // Arabic name
  // fr-MA numbers: narrow no-break spaces between thousands.
  const summary = await page.locator('.summary').innerText();
  assert.ok(new RegExp(`\\d${NNBSP}\\d{3}`).test(summary), `thousands separated by spaces: ${summary}`);
  assert.match(summary, /Agents actifs\s*12/);
  log('12 regions, colours and French labels ok');

  // 3. The assets: all from the hub, ≤ 300 KB, no CSP violation.
  const weight = [...assetBytes.values()].reduce((a, b) => a + b, 0);
  log(`page weight ${weight} bytes in ${assetBytes.size} files: ${[...assetBytes.keys()].join(' ')}`);
  assert.ok(assetBytes.has('/') && assetBytes.has('/assets/app.js') && assetBytes.has('/assets/app.css'));
  assert.ok(weight <= MAX_WEIGHT, `page weight ${weight} > ${MAX_WEIGHT}`);

  // 4. The victim goes silent: within silent_after_s + a refresh its region turns red.
  silenced.add(victim.id);
  const t0 = Date.now();
  log(`silencing ${victim.id} (${victim.region})`);
  await expectHealth(victim.region, 'red', (seed.silent_after_s + 40) * 1000);
  log(`${victim.region} turned red after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  assert.match(await card(victim.region).innerText(), /Silencieux/);
  assert.match(await card(victim.region).innerText(), /Agent silencieux/);
  assert.equal(await healthOf('MA-01'), 'green', 'the others stay green');
  await page.locator(`.alerts li.alert[data-alert="agent-silent"][data-agent="${victim.id}"]`).waitFor({ timeout: 30000 });
  const overviewPng = await shot(page, 'overview.png');
  console.log(`overview screenshot: ${overviewPng}`);

  // 5. The silent agent's page: version, plugins, backlog, charts.
  await card(victim.region).locator('a', { hasText: victim.id }).click();
  await page.locator('h1', { hasText: victim.hostname }).waitFor();
  await page.locator('h1 .badge', { hasText: 'Silencieux' }).waitFor();
  const agentText = await page.locator('.page').innerText();
  for (const want of ['Version', '0.1.0', 'Disque libre', 'Arriéré', 'Plus ancien changement non acquitté', 'Dernière synchronisation', 'artisanat', 'Lignes collectées']) {
    assert.ok(agentText.includes(want), `agent page shows « ${want} »`);
  }
  await page.locator('figure.chart svg').nth(2).waitFor();
  assert.equal(await page.locator('figure.chart').count(), 3, 'rows, bytes and lag charts');
  await page.click('button[data-range="week"]');
  await page.locator('figure.chart figcaption', { hasText: '7 derniers jours' }).first().waitFor();
  await shot(page, 'agent.png');
  log('agent page ok');

  // A region's page after a reload (the session and its CSRF token come back from the cookie).
  await page.goto(`${seed.url}/#/region/MA-06`);
  await page.locator('h1', { hasText: 'Casablanca-Settat' }).waitFor();
  await page.locator('tr[data-agent]').nth(1).waitFor();
  assert.equal(await page.locator('tr[data-agent]').count(), 2, 'two agents in Casablanca-Settat');
  await page.locator('figure.chart').nth(2).waitFor();
  log('region page ok');

  // 6. Phone width: one column of regions.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${seed.url}/#/`);
  await page.locator('#regions li.region').nth(11).waitFor();
  const xs = await page.locator('#regions li.region').evaluateAll((els) => els.map((e) => Math.round(e.getBoundingClientRect().left)));
  assert.equal(new Set(xs).size, 1, `one column on a phone: ${xs}`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling on a phone (${overflow} px)`);
  await shot(page, 'overview-phone.png', false);
  await page.setViewportSize({ width: 1366, height: 900 });
  log('phone layout ok');

  // 7. Administration: an enrolment code for Dakhla-Oued Ed-Dahab, then used by an agent.
  await page.click('a[data-nav="admin"]');
  await page.locator('h1', { hasText: 'Administration' }).waitFor();
  await page.selectOption('form[data-form="enrol"] select[name="region"]', 'MA-12');
  await page.click('#enrol-submit');
  const codeText = (await page.locator('[data-enrolment-code] output').innerText()).trim();
  assert.match(codeText, /^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$/);
  assert.match(await page.locator('[data-enrolment-code]').innerText(), /Dakhla-Oued Ed-Dahab/);
  const enrol = await fetch(`${seed.url}/api/v1/enrol`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ code: codeText, hostname: 'bureau-dakhla-01' }),
  });
  assert.equal(enrol.status, 200, 'the code from the page enrols an agent');
  const enrolled = await enrol.json();
  seed.agents.push({ id: enrolled.agent_id, token: enrolled.token, region: 'MA-12', hostname: 'bureau-dakhla-01', profile: 'green' });
  const again = await fetch(`${seed.url}/api/v1/enrol`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ code: codeText, hostname: 'x' }),
  });
  assert.notEqual(again.status, 200, 'a code is valid once');
  log(`enrolment code ${codeText} created and used by ${enrolled.agent_id}`);

  // 8. Revoke an agent from the page (confirmation first); its next heartbeat is refused.
  const row = page.locator(`tr[data-agent="${spare.id}"]`);
  await row.locator(`button[data-revoke="${spare.id}"]`).click();
  await row.locator('button[data-action="confirm"]').click();
  await page.locator(`tr[data-agent="${spare.id}"][data-health="revoked"]`).waitFor();
  const detail = await apiAsAdmin(page, `/api/v1/admin/agents/${spare.id}`);
  assert.ok(detail.revoked_at > 0, 'revoked at the hub');
  assert.equal(await beat(spare), 401, 'a revoked credential is refused');
  spare.revoked = true;
  await shot(page, 'admin.png');
  log(`agent ${spare.id} revoked`);

  // The new Dakhla agent appears on the overview.
  await page.click('a[data-nav="overview"]');
  await expectHealth('MA-12', 'green', 30000);

  // 9. Indicators (national), the regions table and the CSV downloads.
  await page.click('a[data-nav="indicators"]');
  await page.locator('[data-kpi="active_exporters"]').waitFor();
  const active = (await page.locator('[data-kpi="active_exporters"] .v').innerText()).replace(/\D/g, '');
  assert.equal(Number(active), seed.expected.active_exporters, 'active exporters');
  assert.equal(await page.locator('table[data-table="regions"] tbody tr').count(), 13);
  assert.match(await page.locator('[data-kpi="export_value_mad"]').innerText(), /MAD/);
  const download = async (selector) => {
    const [d] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
    const file = path.join(seed.downloads, d.suggestedFilename());
    await d.saveAs(file);
    return { name: d.suggestedFilename(), text: fs.readFileSync(file, 'utf8') };
  };
  const regionsCsv = await download('a[data-download="regions"]');
  const lines = csvLines(regionsCsv.text);
  assert.equal(lines[0], 'region,region_name,active_exporters,export_value_mad,share_of_national_value,mono_product_exporters,mono_product_share,mono_market_exporters,mono_market_share,hhi_destinations,new_exporters,progress_to_target');
  assert.equal(lines.length, 14, 'header, 12 regions, national');
  assert.match(lines[6], /^MA-06,Casablanca-Settat,\d+,\d+\.\d{2},/);
  const national = lines[13].split(',');
  assert.equal(national[0], 'national');
  assert.equal(Number(national[2]), seed.expected.active_exporters);
  log(`downloaded ${regionsCsv.name}: ${lines.length} lines`);
  await shot(page, 'indicators.png');

  // 10. A region's indicators: the consolidated export flows, filtered by region.
  await page.goto(`${seed.url}/#/indicateurs/MA-06`);
  await page.locator('h1', { hasText: 'Casablanca-Settat' }).waitFor();
  await page.locator('a[data-download="core-export_flows"]').waitFor();
  const flows = await download('a[data-download="core-export_flows"]');
  const flowLines = csvLines(flows.text);
  assert.equal(flowLines[0], 'plugin,region,agent,exporter_id,hs_code,destination,period,value_mad,quantity,quantity_unit');
  assert.equal(flowLines.length - 1, seed.expected.flows_by_region['MA-06'], 'every MA-06 flow, no other');
  for (const l of flowLines.slice(1)) assert.equal(l.split(',')[1], 'MA-06', l);
  const dest = await download('a[data-download="destinations"]');
  for (const l of csvLines(dest.text).slice(1)) assert.ok(l.startsWith('MA-06,'), l);
  log(`downloaded ${flows.name} (${flowLines.length - 1} flows of MA-06) and ${dest.name}`);

  // 11. Alerts page, then logout.
  await page.click('a[data-nav="alerts"]');
  await page.locator(`li.alert[data-alert="agent-silent"]`).first().waitFor();
  await page.click('#logout');
  await page.locator('#login-form').waitFor();
  const after = await page.evaluate(async () => (await fetch('/api/v1/admin/overview')).status);
  assert.equal(after, 401, 'logged out');
  assert.deepEqual(problems, [], 'no page error nor CSP violation');
  log('all checks passed');
} catch (e) {
  failed = true;
  console.error(`FAILED: ${e.stack || e}`);
  if (problems.length) console.error(`page problems:\n  ${problems.join('\n  ')}`);
  try {
    console.error(`screenshot of the failure: ${await shot(page, 'failure.png')}`);
  } catch {
    // the page is gone
  }
} finally {
  beating = false;
  await loop;
  await browser.close();
}
console.log(`screenshots:\n  ${shots.join('\n  ')}`);
process.exit(failed ? 1 : 0);
