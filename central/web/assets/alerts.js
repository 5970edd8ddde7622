// Alerts: the list (on the overview, region and agent pages) and the « Alertes » page, with the
// manual « Résoudre ».
import { get, post, qs } from './api.js';
import { REGIONS, SEVERITY, ago, dur, h, num, reasonLabel, regionName, when } from './fmt.js';
import { busy, messageArea, slot } from './ui.js';

export function alertList(alerts, { onChange } = {}) {
  if (!alerts || alerts.length === 0) return h('p', { class: 'note' }, 'Aucune alerte ouverte.');
  const msg = messageArea();
  const now = Date.now() / 1000;
  return h('div', {}, msg.el, h('ul', { class: 'alerts' }, alerts.map((a) => {
    const open = !a.resolved_at;
    let resolve = null;
    if (open) {
      resolve = h('button', { type: 'button', class: 'secondary small', 'data-key': `resolve-${a.id}` }, 'Résoudre');
      resolve.addEventListener('click', () => busy(resolve, async () => {
        try {
          await post(`/api/v1/admin/alerts/${a.id}/resolve`, {});
          msg.ok('Alerte résolue.');
          if (onChange) await onChange();
        } catch (e) {
          msg.error(e);
        }
      }));
    }
    return h('li', { class: `alert sev-${a.severity}`, 'data-alert': a.code, 'data-agent': a.agent_id || null },
      h('span', { class: `badge sev-${a.severity}` }, SEVERITY[a.severity] || a.severity),
      h('strong', {}, reasonLabel(a.code), a.subject ? ` « ${a.subject} »` : ''),
      h('span', { class: 'meta' }, a.region ? h('a', { href: `#/region/${a.region}` }, a.region_name || regionName(a.region)) : null,
        a.agent_id ? [' · ', h('a', { href: `#/agent/${encodeURIComponent(a.agent_id)}` }, a.agent_id)] : null),
      h('p', {}, a.message),
      h('span', { class: 'meta' },
        open ? `depuis ${dur(now - a.since)} (${when(a.since)})` : `du ${when(a.since)} au ${when(a.resolved_at)}`,
        a.count > 1 ? ` · constatée ${num(a.count)} fois` : '',
        !open ? ` · résolue par ${a.resolved_by === 'hub' ? 'le hub' : a.resolved_by}` : ` · vue ${ago(a.at, now)}`),
      resolve);
  })));
}

export function view(ctx) {
  const state = h('select', { id: 'alerts-state' },
    h('option', { value: 'open' }, 'Ouvertes'), h('option', { value: 'all' }, 'Toutes (y compris résolues)'));
  const region = h('select', { id: 'alerts-region' }, h('option', { value: '' }, 'Toutes les régions'),
    REGIONS.map((r) => h('option', { value: r.code }, `${r.fr} (${r.code})`)));
  const list = slot();
  ctx.el.append(
    h('div', { class: 'page-head' }, h('h1', {}, 'Alertes'), h('p', { class: 'updated' }, 'Actualisation toutes les 15 s')),
    h('div', { class: 'controls' },
      h('div', { class: 'field' }, h('label', { for: 'alerts-state' }, 'État'), state),
      h('div', { class: 'field' }, h('label', { for: 'alerts-region' }, 'Région'), region)),
    list.el);
  async function update() {
    const r = await get(`/api/v1/admin/alerts${qs({ state: state.value, region: region.value, limit: 500 })}`);
    list.set(alertList(r.alerts, { onChange: update }));
  }
  state.addEventListener('change', () => ctx.run(update));
  region.addEventListener('change', () => ctx.run(update));
  return { title: 'Alertes', update, interval: 15000 };
}
