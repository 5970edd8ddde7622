// « Vue d'ensemble »: the 12 regions at a glance (green, amber, red), national totals, open
// alerts and the national charts. Refreshed every 10 s.
import { get, qs } from './api.js';
import { timeChart } from './charts.js';
import { ago, badge, bytes, dur, facts, h, num, plural, reasonLabel, regionByCode } from './fmt.js';
import { alertList } from './alerts.js';
import { rangeToggle, slot } from './ui.js';

export const REFRESH_MS = 10000;

const NATIONAL = {
  green: 'Tout est synchronisé',
  amber: 'Retards à surveiller',
  red: 'Incidents à traiter',
  none: 'Aucun agent',
};

function agentsText(a) {
  if (!a || !a.active) return a && a.revoked ? `aucun actif (${a.revoked} révoqué${a.revoked > 1 ? 's' : ''})` : 'aucun';
  const parts = [];
  if (a.red) parts.push(`${a.red} en rouge`);
  if (a.amber) parts.push(`${a.amber} en orange`);
  return `${num(a.active)} actif${a.active > 1 ? 's' : ''}${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

export function regionCard(r, now) {
  const info = regionByCode(r.region);
  const titleId = `region-${r.region}`;
  const reasons = r.reasons || [];
  const alerts = r.alerts_open || {};
  const alertText = [alerts.critical ? `${alerts.critical} critique${alerts.critical > 1 ? 's' : ''}` : null,
    alerts.warning ? `${alerts.warning} avertissement${alerts.warning > 1 ? 's' : ''}` : null].filter(Boolean).join(', ');
  return h('li', { class: 'region', 'data-region': r.region, 'data-health': r.health, 'aria-labelledby': titleId },
    h('header', {},
      h('h3', { id: titleId },
        h('a', { href: `#/region/${r.region}`, 'data-key': `region-link-${r.region}` }, r.region_name || info?.fr || r.region),
        ' ', h('span', { class: 'code' }, r.region)),
      info ? h('p', { class: 'ar', lang: 'ar', dir: 'rtl' }, info.ar) : null,
      h('p', { class: 'state' }, badge(r.health, reasons))),
    facts([
      ['Agents', agentsText(r.agents)],
      ['Plus ancien changement non acquitté', r.oldest_unacked_age_s ? dur(r.oldest_unacked_age_s) : 'aucun'],
      ['Arriéré', `${plural(r.backlog_rows, 'ligne')} · ${bytes(r.backlog_bytes)}`],
      ['Dernière synchronisation', ago(r.last_sync_at, now)],
      alertText ? ['Alertes ouvertes', alertText] : null,
    ]),
    reasons.length
      ? h('ul', { class: 'reasons', 'aria-label': 'Pourquoi' }, dedupeReasons(reasons).map((x) => h('li', {},
        reasonLabel(x.code), x.count > 1 ? ` (${x.count} agents)` : '',
        x.agent_id && x.count === 1 ? [' — ', h('a', { href: `#/agent/${encodeURIComponent(x.agent_id)}` }, x.agent_id)] : null)))
      : null);
}

// One line per reason code, with the agents it concerns.
function dedupeReasons(reasons) {
  const byCode = new Map();
  for (const r of reasons) {
    if (!byCode.has(r.code)) byCode.set(r.code, { code: r.code, agents: new Set() });
    if (r.agent_id) byCode.get(r.code).agents.add(r.agent_id);
  }
  return [...byCode.values()].map((x) => ({ code: x.code, agent_id: [...x.agents][0], count: x.agents.size }));
}

function summary(o) {
  const n = o.national;
  const a = n.agents;
  const al = n.alerts_open || {};
  const stat = (k, v, s, attrs = {}) => h('div', { class: 'stat', ...attrs }, h('span', { class: 'k' }, k), h('span', { class: 'v' }, v), s ? h('span', { class: 's' }, s) : null);
  return h('div', { class: 'summary', 'aria-label': 'Situation nationale' },
    stat('Situation nationale', h('span', { class: `badge h-${n.health || 'none'}` }, NATIONAL[n.health] || NATIONAL.none), `${a.green} vert${a.green > 1 ? 's' : ''} · ${a.amber} orange · ${a.red} rouge${a.red > 1 ? 's' : ''}`, { 'data-national': n.health }),
    stat('Agents actifs', num(a.active), `${num(a.total)} enrôlé${a.total > 1 ? 's' : ''}, ${num(a.revoked)} révoqué${a.revoked > 1 ? 's' : ''}`),
    stat('Arriéré total', plural(n.backlog_rows, 'ligne'), bytes(n.backlog_bytes)),
    stat('Plus ancien changement non acquitté', n.oldest_unacked_age_s ? dur(n.oldest_unacked_age_s) : 'aucun'),
    stat('Dernière synchronisation', ago(n.last_sync_at, o.generated_at), `${plural(n.rows_received, 'ligne reçue', 'lignes reçues')} au total`),
    stat('Alertes ouvertes', num((al.critical || 0) + (al.warning || 0) + (al.info || 0)), `${al.critical || 0} critique${al.critical > 1 ? 's' : ''}, ${al.warning || 0} avertissement${al.warning > 1 ? 's' : ''}`));
}

export function chartsFor(hist) {
  const common = { points: hist.points, from: hist.from, to: hist.to, step_s: hist.step_s, range: hist.range };
  return h('div', { class: 'charts' },
    timeChart({ ...common, key: 'rows', title: 'Lignes synchronisées', kind: 'bars', format: (v) => num(v) }),
    timeChart({ ...common, key: 'bytes', title: 'Octets transmis (compressés)', kind: 'bars', format: bytes }),
    timeChart({ ...common, key: 'lag_s', title: 'Retard (plus ancien changement non acquitté)', kind: 'line', summary: 'max', format: dur }));
}

export function view(ctx) {
  const head = h('div', { class: 'page-head' },
    h('h1', {}, "Vue d'ensemble des 12 régions"),
    h('p', { class: 'updated' }, 'Chargement…'));
  const updated = head.querySelector('.updated');
  const sum = slot();
  const thresholds = slot({ class: 'note' });
  const grid = slot();
  const alerts = slot();
  const charts = slot();
  let range = 'day';
  ctx.el.append(head, sum.el, h('h2', {}, 'Régions'), thresholds.el, grid.el,
    h('section', { class: 'panel', 'aria-labelledby': 'ov-alerts' },
      h('div', { class: 'page-head' }, h('h2', { id: 'ov-alerts' }, 'Alertes ouvertes'), h('a', { href: '#/alertes' }, 'Toutes les alertes')),
      alerts.el),
    h('section', { 'aria-labelledby': 'ov-charts' },
      h('div', { class: 'page-head' }, h('h2', { id: 'ov-charts' }, 'Activité nationale'),
        rangeToggle(range, (r) => {
          range = r;
          loadCharts();
        })),
      charts.el));

  async function loadCharts() {
    const hist = await get(`/api/v1/admin/history${qs({ range })}`);
    charts.set(chartsFor(hist));
  }

  let lastCharts = 0;
  async function update() {
    const [o, al] = await Promise.all([get('/api/v1/admin/overview'), get('/api/v1/admin/alerts?state=open&limit=50')]);
    const now = o.generated_at;
    sum.set(summary(o));
    const t = o.thresholds || {};
    thresholds.set(`Vert : synchronisé récemment. Orange : en retard (plus ancien changement non acquitté au-delà de ${dur(t.late_after_s)}). Rouge : silencieux (aucune nouvelle depuis ${dur(t.silent_after_s)}) ou en échec.`);
    grid.set(h('ul', { class: 'regions', id: 'regions' }, o.regions.map((r) => regionCard(r, now))));
    alerts.set(alertList(al.alerts, { onChange: update }));
    ctx.setAlertCount(o.national.alerts_open);
    updated.textContent = `Mis à jour à ${new Date(now * 1000).toLocaleTimeString('fr-MA', { timeZone: 'Africa/Casablanca' })} · actualisation toutes les 10 s`;
    if (Date.now() - lastCharts > 60000) {
      lastCharts = Date.now();
      await loadCharts();
    }
  }
  return { title: "Vue d'ensemble", update, interval: REFRESH_MS };
}
