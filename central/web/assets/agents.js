// A region's page (its agents, alerts, charts) and an agent's page (version, plugins, backlog,
// lag, last sync and errors, free disk, charts, « Révoquer »).
import { get, post, qs } from './api.js';
import { alertList } from './alerts.js';
import { ago, badge, bytes, dur, facts, h, num, plural, reasonLabel, regionByCode, regionTitle, table, when } from './fmt.js';
import { chartsFor, regionCard } from './overview.js';
import { enrolmentForm } from './admin.js';
import { confirmButton, messageArea, rangeToggle, slot } from './ui.js';

const SYNC_STATES = {
  idle: 'en attente',
  syncing: 'synchronisation en cours',
  synced: 'à jour',
  error: 'en erreur',
  backoff: 'hub injoignable, nouvel essai programmé',
  stalled: 'bloquée',
  'not-enrolled': 'non enrôlé',
};

function revokeButton(agent, msg, after) {
  if (agent.revoked_at) return h('span', { class: 'note' }, `Révoqué le ${when(agent.revoked_at)}`);
  return confirmButton('Révoquer', 'Confirmer la révocation', async () => {
    try {
      await post(`/api/v1/admin/agents/${encodeURIComponent(agent.id)}/revoke`);
      msg.ok(`Identifiant de l'agent ${agent.id} révoqué : ses prochaines requêtes seront refusées.`);
      await after();
    } catch (e) {
      msg.error(e);
    }
  }, { 'data-revoke': agent.id, 'aria-label': `Révoquer l'agent ${agent.hostname || agent.id}` });
}

/** The agents table (a region's, or every agent on the admin page). */
export function agentsTable(agents, msg, after, { withRegion = false } = {}) {
  if (!agents.length) return h('p', { class: 'note' }, 'Aucun agent enrôlé.');
  const now = Date.now() / 1000;
  const cols = [{ label: 'Agent' }, withRegion ? { label: 'Région' } : null, { label: 'Santé' }, { label: 'Version' },
    { label: 'Retard', num: true }, { label: 'Arriéré', num: true }, { label: 'Dernière synchronisation' },
    { label: 'Dernier contact' }, { label: 'Pourquoi' }, { label: 'Action' }].filter(Boolean);
  return table(null, cols, agents.map((a) => ({
    attrs: { 'data-agent': a.id, 'data-health': a.revoked_at ? 'revoked' : a.health },
    cells: [
      [h('a', { href: `#/agent/${encodeURIComponent(a.id)}`, 'data-key': `agent-${a.id}` }, a.hostname || a.id), h('br'), h('span', { class: 'mono' }, a.id)],
      withRegion ? regionByCode(a.region)?.fr ?? a.region : null,
      a.revoked_at ? h('span', { class: 'badge h-none' }, 'Révoqué') : badge(a.health, a.reasons),
      a.status?.version || '—',
      a.lag_s ? dur(a.lag_s) : '—',
      a.status ? `${plural(a.status.backlog_rows ?? 0, 'ligne')} · ${bytes(a.status.backlog_bytes ?? 0)}` : '—',
      ago(a.last_sync_at, now),
      ago(a.last_seen, now),
      [...new Set((a.reasons || []).map((r) => reasonLabel(r.code)))].join(', ') || '—',
      revokeButton(a, msg, after),
    ].filter((c, i) => withRegion || i !== 1),
  })));
}

export function regionView(ctx, code) {
  const info = regionByCode(code);
  if (!info) {
    ctx.el.append(h('h1', {}, 'Région inconnue'), h('p', {}, 'Région inconnue (MA-01 à MA-12).'));
    return { title: 'Région inconnue' };
  }
  const card = slot();
  const agents = slot();
  const alerts = slot();
  const charts = slot();
  const msg = messageArea();
  let range = 'day';
  ctx.el.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/' }, "Vue d'ensemble"), ' › ', info.fr),
    h('div', { class: 'page-head' }, h('h1', {}, regionTitle(code, false)),
      h('a', { href: `#/indicateurs/${code}` }, 'Indicateurs régionaux de la région')),
    card.el,
    h('section', { class: 'panel', 'aria-labelledby': 'rg-agents' }, h('h2', { id: 'rg-agents' }, 'Agents'), msg.el, agents.el),
    h('section', { class: 'panel', 'aria-labelledby': 'rg-alerts' }, h('h2', { id: 'rg-alerts' }, 'Alertes ouvertes'), alerts.el),
    h('section', { 'aria-labelledby': 'rg-charts' },
      h('div', { class: 'page-head' }, h('h2', { id: 'rg-charts' }, 'Activité de la région'),
        rangeToggle(range, (r) => {
          range = r;
          ctx.run(loadCharts);
        })),
      charts.el),
    h('section', { class: 'panel', 'aria-labelledby': 'rg-enrol' }, h('h2', { id: 'rg-enrol' }, "Enrôler un nouvel agent"),
      enrolmentForm(code)));

  async function loadCharts() {
    charts.set(chartsFor(await get(`/api/v1/admin/history${qs({ range, region: code })}`)));
  }
  async function update() {
    const [o, list, al] = await Promise.all([get('/api/v1/admin/overview'), get('/api/v1/admin/agents'),
      get(`/api/v1/admin/alerts${qs({ region: code })}`)]);
    const r = o.regions.find((x) => x.region === code);
    if (r) card.set(h('ul', { class: 'regions' }, regionCard(r, o.generated_at)));
    agents.set(agentsTable(list.agents.filter((a) => a.region === code), msg, update));
    alerts.set(alertList(al.alerts, { onChange: update }));
    ctx.setAlertCount(o.national.alerts_open);
    await loadCharts();
  }
  return { title: info.fr, update, interval: 15000 };
}

function pluginsTable(plugins) {
  if (!plugins.length) return h('p', { class: 'note' }, "Aucun plugin déclaré (pas encore de battement de cœur de l'agent).");
  const result = (p) => {
    if (p.quarantined) return h('span', { class: 'badge h-red' }, 'En quarantaine');
    if (!p.enabled) return 'Désactivé';
    if (!p.loaded) return h('span', { class: 'badge h-amber' }, 'Refusé au chargement');
    const at = p.last_run_at ? ` ${ago(p.last_run_at)}` : '';
    switch (p.last_result) {
      case 'ok': return h('span', { class: 'badge h-green', title: when(p.last_run_at) }, `Réussie${at}`);
      case 'failed': return h('span', { class: 'badge h-amber', title: when(p.last_run_at) }, `Échec${at}`);
      case 'skipped': return 'Sautée';
      case 'cancelled': return 'Annulée';
      case '': return 'Pas encore exécuté';
      default: return p.last_result;
    }
  };
  return table(null, [{ label: 'Plugin' }, { label: 'Version' }, { label: 'Chargé' }, { label: 'Dernière exécution' },
    { label: 'Lignes collectées', num: true }, { label: 'Lignes supprimées', num: true }, { label: 'Lignes rejetées', num: true },
    { label: 'Erreur ou motif du refus' }],
  plugins.map((p) => ({
    attrs: { 'data-plugin': p.name },
    cells: [h('strong', {}, p.name), p.version || '—', p.loaded ? 'Oui' : 'Non', result(p), num(p.rows_upserted),
      num(p.rows_removed), num(p.rows_rejected), p.refused || p.last_error || '—'],
  })));
}

function syncResult(a) {
  const s = a.sync || {};
  if (!a.heartbeat_at) return a.last_sync_at ? `Dernier lot reçu ${ago(a.last_sync_at)}` : 'Jamais synchronisé';
  if (s.last_error && s.last_error_at >= (s.last_sync_ok_at || 0)) {
    return h('span', {}, h('span', { class: 'badge h-red' }, 'Échec'), ` ${s.last_error} (${when(s.last_error_at)})`);
  }
  if (s.last_sync_ok_at) return h('span', {}, h('span', { class: 'badge h-green' }, 'Réussie'), ` ${ago(s.last_sync_ok_at)}`);
  return 'Pas encore de synchronisation réussie';
}

export function agentView(ctx, id) {
  const body = slot();
  const charts = slot();
  const msg = messageArea();
  let range = 'day';
  const crumbs = h('p', { class: 'crumbs' }, h('a', { href: '#/' }, "Vue d'ensemble"), ' › ', h('span', { id: 'crumb-region' }), ' › ', id);
  const title = h('h1', {}, 'Agent ', h('span', { class: 'mono' }, id));
  ctx.el.append(crumbs, title, msg.el, body.el,
    h('section', { 'aria-labelledby': 'ag-charts' },
      h('div', { class: 'page-head' }, h('h2', { id: 'ag-charts' }, "Activité de l'agent"),
        rangeToggle(range, (r) => {
          range = r;
          ctx.run(loadCharts);
        })),
      charts.el));

  async function loadCharts() {
    charts.set(chartsFor(await get(`/api/v1/admin/history${qs({ range, agent: id })}`)));
  }
  async function update() {
    const a = await get(`/api/v1/admin/agents/${encodeURIComponent(id)}`);
    const region = regionByCode(a.region);
    crumbs.querySelector('#crumb-region').replaceChildren(h('a', { href: `#/region/${a.region}` }, region?.fr ?? a.region));
    title.replaceChildren(a.hostname || a.id, ' ', a.revoked_at ? h('span', { class: 'badge h-none' }, 'Révoqué') : badge(a.health, a.reasons));
    const now = Date.now() / 1000;
    const s = a.sync || {};
    body.set(
      h('p', { class: 'note' }, h('span', { class: 'mono' }, a.id), ` · ${a.region_name || region?.fr || a.region} · enrôlé le ${when(a.created_at)}`),
      a.reasons?.length ? h('ul', { class: 'reasons', 'aria-label': 'Pourquoi' }, a.reasons.map((r) => h('li', {}, h('strong', {}, reasonLabel(r.code)), r.message ? ` : ${r.message}` : ''))) : null,
      h('div', { class: 'cols' },
        h('section', { class: 'panel', 'aria-labelledby': 'ag-state' }, h('h2', { id: 'ag-state' }, 'État'),
          facts([
            ['Version', a.version || '—'],
            ['Dernier battement de cœur', ago(a.heartbeat_at, now), when(a.heartbeat_at)],
            ['Dernier contact', ago(a.last_seen, now), when(a.last_seen)],
            ['Dernière synchronisation', ago(a.last_sync_at, now), when(a.last_sync_at)],
            ['Arriéré', `${plural(a.backlog_rows, 'ligne')} · ${bytes(a.backlog_bytes)}`],
            ['Plus ancien changement non acquitté', a.lag_s ? dur(a.lag_s) : 'aucun'],
            ['Disque libre', a.heartbeat_at ? bytes(a.disk_free_bytes) : '—'],
            ['Lignes reçues par le hub', num(a.rows_received)],
            ['Octets reçus', bytes(a.bytes_received)],
            ['Lots reçus', num(a.batches_received)],
            ['Requêtes refusées', num(a.errors)],
            ['Lignes mises de côté (24 h)', num(a.set_aside_rows)],
          ])),
        h('section', { class: 'panel', 'aria-labelledby': 'ag-sync' }, h('h2', { id: 'ag-sync' }, 'Dernière synchronisation'),
          facts([
            ['Résultat', syncResult(a)],
            ['État du client', s.state ? SYNC_STATES[s.state] || s.state : '—'],
            ['Hub joignable', a.heartbeat_at ? (s.hub_reachable ? 'oui' : 'non') : '—'],
            ['Arriéré', s.backlog_full ? 'plein : la collecte est arrêtée' : s.backlog_warning ? 'proche de la limite' : 'normal'],
            ['Marque du hub', num(a.mark)],
            ['Dernière erreur vue par le hub', a.last_error || 'aucune'],
          ]),
          h('h3', {}, 'Dernières erreurs'),
          a.errors_recent?.length
            ? table(null, [{ label: 'Quand' }, { label: 'Erreur' }], a.errors_recent.map((e) => [when(e.at), e.message]))
            : h('p', { class: 'note' }, 'Aucune requête refusée récemment.'))),
      h('section', { class: 'panel', 'aria-labelledby': 'ag-plugins' }, h('h2', { id: 'ag-plugins' }, 'Plugins'), pluginsTable(a.plugins || [])),
      h('section', { class: 'panel', 'aria-labelledby': 'ag-alerts' }, h('h2', { id: 'ag-alerts' }, 'Alertes ouvertes'), alertList(a.alerts, { onChange: update })),
      h('section', { class: 'panel', 'aria-labelledby': 'ag-admin' }, h('h2', { id: 'ag-admin' }, 'Administration'),
        h('p', { class: 'note' }, "Révoquer l'identifiant empêche cet agent de synchroniser ; pour le remettre en service, il faut l'enrôler de nouveau avec un code."),
        revokeButton(a, msg, update)));
    await loadCharts();
  }
  return { title: `Agent ${id}`, update, interval: 15000 };
}
