// « Indicateurs régionaux »: the Secretariat's export indicators, national or for one region,
// and the CSV downloads (indicator tables and consolidated datasets) filtered by region.
import { get, qs } from './api.js';
import { hbars } from './charts.js';
import { REGIONS, country, h, mad, num, pct, regionByCode, regionTitle, table } from './fmt.js';
import { slot } from './ui.js';

const MONTHS = ['janv.', 'févr.', 'mars', 'avr.', 'mai', 'juin', 'juil.', 'août', 'sept.', 'oct.', 'nov.', 'déc.'];
const month = (ym) => {
  const [y, m] = String(ym).split('-');
  return `${MONTHS[Number(m) - 1] ?? m} ${y}`;
};

function kpi(label, value, sub, key) {
  return h('div', { class: 'stat', 'data-kpi': key }, h('span', { class: 'k' }, label), h('span', { class: 'v' }, value), sub ? h('span', { class: 's' }, sub) : null);
}

function kpis(s, target, national) {
  return h('div', { class: 'kpis' },
    kpi('Exportateurs actifs', num(s.active_exporters), "au moins une exportation sur les 12 derniers mois", 'active_exporters'),
    kpi('Valeur des exportations', mad(s.export_value_mad, true), mad(s.export_value_mad), 'export_value_mad'),
    national ? null : kpi('Part de la valeur nationale', pct(s.share_of_national_value), null, 'share_of_national_value'),
    kpi('Exportateurs mono-produit', pct(s.mono_product_share), `${num(s.mono_product_exporters)} exportateurs (une seule position SH)`, 'mono_product'),
    kpi('Exportateurs mono-marché', pct(s.mono_market_share), `${num(s.mono_market_exporters)} exportateurs (une seule destination)`, 'mono_market'),
    kpi('Concentration des destinations (IHH)', num(s.hhi_destinations * 10000), `indice ${num(s.hhi_destinations, 4)} (1 = une seule destination)`, 'hhi'),
    kpi("Nouveaux exportateurs de l'année", num(s.new_exporters), null, 'new_exporters'),
    h('div', { class: 'stat', 'data-kpi': 'progress' },
      h('span', { class: 'k', id: 'progress-label' }, "Progression vers l'objectif"),
      h('span', { class: 'v' }, pct(s.progress_to_target)),
      h('progress', { max: 1, value: Math.min(1, s.progress_to_target || 0), 'aria-labelledby': 'progress-label' }),
      h('span', { class: 's' }, `objectif national : ${num(target.exporters)} exportateurs actifs en ${target.year}`)));
}

function topTables(s) {
  return h('div', { class: 'cols' },
    table('Principaux produits (positions SH à 4 chiffres)', [{ label: 'Rang', num: true }, { label: 'Position SH' }, { label: 'Valeur (MAD)', num: true }, { label: 'Part', num: true }],
      (s.top_products || []).map((p) => [num(p.rank), p.heading, num(p.value_mad, 2), pct(p.share)]), { 'data-table': 'products' }),
    table('Principales destinations', [{ label: 'Rang', num: true }, { label: 'Pays' }, { label: 'Valeur (MAD)', num: true }, { label: 'Part', num: true }],
      (s.top_destinations || []).map((p) => [num(p.rank), `${country(p.country)} (${p.country})`, num(p.value_mad, 2), pct(p.share)]), { 'data-table': 'destinations' }));
}

function regionsTable(ind) {
  const cols = [{ label: 'Région' }, { label: 'Exportateurs actifs', num: true }, { label: 'Valeur (MAD)', num: true },
    { label: 'Part nationale', num: true }, { label: 'Mono-produit', num: true }, { label: 'Mono-marché', num: true },
    { label: 'IHH destinations', num: true }, { label: 'Nouveaux', num: true }, { label: 'Objectif', num: true }];
  const row = (r, link) => [link ? h('a', { href: `#/indicateurs/${r.region}` }, r.region_name || regionByCode(r.region)?.fr) : r.region_name,
    num(r.active_exporters), num(r.export_value_mad, 2), pct(r.share_of_national_value), pct(r.mono_product_share),
    pct(r.mono_market_share), num(r.hhi_destinations, 4), num(r.new_exporters), pct(r.progress_to_target, 2)];
  return table('Indicateurs par région', cols,
    [...ind.regions.map((r) => ({ attrs: { 'data-region': r.region }, cells: row(r, true) })),
      { attrs: { class: 'total', 'data-region': 'national' }, cells: row({ ...ind.national, region_name: 'Total national' }, false) }],
    { 'data-table': 'regions' });
}

function downloads(scope, at, top, datasets) {
  const region = scope === 'national' ? '' : scope;
  const link = (href, label, key) => h('li', {}, h('a', { class: 'button secondary small', href, download: '', 'data-download': key }, label));
  const q = (extra) => qs({ at, top, ...extra });
  return h('section', { class: 'panel', 'aria-labelledby': 'dl-title' },
    h('h2', { id: 'dl-title' }, 'Téléchargements (CSV)'),
    h('p', { class: 'note' }, region
      ? `Fichiers limités à la région ${regionByCode(region)?.fr} (${region}). Séparateur « , », point décimal, UTF-8.`
      : 'Fichiers pour toutes les régions et le total national. Séparateur « , », point décimal, UTF-8.'),
    h('h3', {}, 'Tableaux des indicateurs'),
    h('ul', { class: 'downloads' },
      link(`/api/v1/admin/indicators/regions.csv${q({ region })}`, region ? 'Indicateurs de la région' : 'Indicateurs par région', 'regions'),
      link(`/api/v1/admin/indicators/products.csv${q({ region })}`, 'Principaux produits', 'products'),
      link(`/api/v1/admin/indicators/destinations.csv${q({ region })}`, 'Principales destinations', 'destinations')),
    h('h3', {}, 'Jeux de données consolidés'),
    h('ul', { class: 'downloads' },
      link(`/api/v1/admin/core/exporters.csv${qs({ region })}`, 'Exportateurs (tous plugins)', 'core-exporters'),
      link(`/api/v1/admin/core/export_flows.csv${qs({ region })}`, "Flux d'exportation (tous plugins)", 'core-export_flows'),
      (datasets || []).map((d) => link(`${d.csv}${qs({ region })}`, `${d.plugin} · ${d.dataset}`, `dataset-${d.plugin}-${d.dataset}`))));
}

export function view(ctx, scope = 'national') {
  if (scope !== 'national' && !regionByCode(scope)) scope = 'national';
  const today = new Date().toISOString().slice(0, 10);
  const regionSel = h('select', { id: 'ind-region' }, h('option', { value: 'national' }, 'National (12 régions)'),
    REGIONS.map((r) => h('option', { value: r.code, selected: r.code === scope }, `${r.code} · ${r.fr}`)));
  const at = h('input', { id: 'ind-at', type: 'date', value: today, min: '1900-01-01', max: '2100-12-31' });
  const top = h('select', { id: 'ind-top' }, [5, 10, 20, 50].map((n) => h('option', { value: String(n), selected: n === 10 }, String(n))));
  const content = slot();
  const form = h('form', { class: 'controls' },
    h('div', { class: 'field' }, h('label', { for: 'ind-region' }, 'Périmètre'), regionSel),
    h('div', { class: 'field' }, h('label', { for: 'ind-at' }, 'Date de référence'), at),
    h('div', { class: 'field' }, h('label', { for: 'ind-top' }, 'Nombre de produits et destinations'), top),
    h('button', { type: 'submit' }, 'Afficher'));
  ctx.el.append(
    h('div', { class: 'page-head' },
      h('h1', {}, 'Indicateurs régionaux', scope === 'national' ? ' — National' : [' — ', regionTitle(scope, false)])),
    form, content.el);
  regionSel.addEventListener('change', () => {
    location.hash = regionSel.value === 'national' ? '#/indicateurs' : `#/indicateurs/${regionSel.value}`;
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    ctx.run(update);
  });

  let datasets = null;
  async function update() {
    const [ind, ds] = await Promise.all([
      get(`/api/v1/admin/indicators${qs({ at: at.value, top: top.value })}`),
      datasets ? Promise.resolve({ datasets }) : get('/api/v1/admin/datasets'),
    ]);
    datasets = ds.datasets;
    const s = scope === 'national' ? ind.national : ind.regions.find((r) => r.region === scope);
    const w = ind.window || {};
    const sources = (ind.sources || []).map((x) => x.plugin).join(', ') || 'aucune pour le moment';
    content.set(
      h('p', { class: 'note' }, `Période : ${month(w.from)} – ${month(w.to)} (${w.months} mois glissants), référence au ${ind.reference_date}. Sources : ${sources}.`),
      kpis(s, ind.target || {}, scope === 'national'),
      scope === 'national'
        ? [hbars('Exportateurs actifs par région', ind.regions.map((r) => ({ label: regionByCode(r.region)?.fr ?? r.region, value: r.active_exporters }))),
          h('section', { class: 'panel' }, regionsTable(ind))]
        : null,
      h('section', { class: 'panel' }, topTables(s)),
      downloads(scope, ind.reference_date, top.value, datasets));
  }
  return { title: scope === 'national' ? 'Indicateurs régionaux' : `Indicateurs — ${regionByCode(scope).fr}`, update };
}
