// Formatting (fr-MA: spaces between thousands, comma decimals, Morocco time), French labels, the
// 12 regions, and a small DOM builder (text only: nothing from the API is parsed as HTML).

export const TZ = 'Africa/Casablanca';
const NNBSP = '\u202f';

const numberFormats = new Map();
function numberFormat(digits) {
  if (!numberFormats.has(digits)) {
    numberFormats.set(digits, new Intl.NumberFormat('fr-MA', {
      minimumFractionDigits: digits, maximumFractionDigits: digits, useGrouping: true,
    }));
  }
  return numberFormats.get(digits);
}

/** 1234567.5 → « 1 234 567,5 » whatever the ICU data says for fr-MA. */
export function num(n, digits = 0) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return '—';
  return numberFormat(digits).formatToParts(Number(n)).map((p) => {
    if (p.type === 'group') return NNBSP;
    if (p.type === 'decimal') return ',';
    if (p.type === 'minusSign') return '−';
    return p.value;
  }).join('');
}

/** « 0 ligne », « 1 ligne », « 2 lignes » (French: plural from 2). */
export function plural(n, word, plural = `${word}s`) {
  return `${num(n)} ${Math.abs(n) >= 2 ? plural : word}`;
}

/** A 0–1 ratio as a percentage: 0.4108 → « 41,1 % ». */
export function pct(ratio, digits = 1) {
  if (ratio === null || ratio === undefined) return '—';
  return `${num(ratio * 100, digits)}\u00a0%`;
}

/** Dirhams: « 412 345 678,50 MAD », or compact « 412,3 M MAD ». */
export function mad(v, compact = false) {
  if (v === null || v === undefined) return '—';
  if (compact) {
    const a = Math.abs(v);
    if (a >= 1e9) return `${num(v / 1e9, 2)}\u00a0Md\u00a0MAD`;
    if (a >= 1e6) return `${num(v / 1e6, 1)}\u00a0M\u00a0MAD`;
    if (a >= 1e4) return `${num(v / 1e3, 1)}\u00a0k\u00a0MAD`;
  }
  return `${num(v, 2)}\u00a0MAD`;
}

/** Bytes in French units (octets, Ko, Mo, Go, To; powers of 1024). */
export function bytes(n) {
  if (n === null || n === undefined || n < 0) return '—';
  const units = ['octets', 'Ko', 'Mo', 'Go', 'To'];
  let u = 0;
  let v = n;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return u === 0 ? `${num(v)}\u00a0${v < 2 ? 'octet' : 'octets'}` : `${num(v, v < 10 ? 1 : 0)}\u00a0${units[u]}`;
}

/** A duration in seconds: « 42 s », « 3 min », « 1 h 05 », « 2 j 3 h ». */
export function dur(s) {
  if (s === null || s === undefined) return '—';
  s = Math.max(0, Math.round(s));
  if (s < 60) return `${s}\u00a0s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}\u00a0min`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}\u00a0h\u00a0${String(m % 60).padStart(2, '0')}`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}\u00a0j\u00a0${h % 24}\u00a0h` : `${d}\u00a0j`;
}

const dateTime = new Intl.DateTimeFormat('fr-MA', {
  timeZone: TZ, day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit',
});
const timeOnly = new Intl.DateTimeFormat('fr-MA', { timeZone: TZ, hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** Unix seconds → « 23/11/2024 18:33 » (Morocco time); 0 → « jamais ». */
export function when(t) {
  if (!t) return 'jamais';
  return dateTime.format(new Date(t * 1000));
}
export function clock(date = new Date()) {
  return timeOnly.format(date);
}
/** « il y a 3 min » (0 → « jamais »). */
export function ago(t, now = Date.now() / 1000) {
  if (!t) return 'jamais';
  const d = now - t;
  if (d < 5) return 'à l\'instant';
  return `il y a ${dur(d)}`;
}

export const REGIONS = [
  ['MA-01', 'Tanger-Tétouan-Al Hoceïma', 'طنجة-تطوان-الحسيمة'],
  ['MA-02', "L'Oriental", 'الشرق'],
  ['MA-03', 'Fès-Meknès', 'فاس-مكناس'],
  ['MA-04', 'Rabat-Salé-Kénitra', 'الرباط-سلا-القنيطرة'],
  ['MA-05', 'Béni Mellal-Khénifra', 'بني ملال-خنيفرة'],
  ['MA-06', 'Casablanca-Settat', 'الدار البيضاء-سطات'],
  ['MA-07', 'Marrakech-Safi', 'مراكش-آسفي'],
  ['MA-08', 'Drâa-Tafilalet', 'درعة-تافيلالت'],
  ['MA-09', 'Souss-Massa', 'سوس-ماسة'],
  ['MA-10', 'Guelmim-Oued Noun', 'كلميم-واد نون'],
  ['MA-11', 'Laâyoune-Sakia El Hamra', 'العيون-الساقية الحمراء'],
  ['MA-12', 'Dakhla-Oued Ed-Dahab', 'الداخلة-وادي الذهب'],
].map(([code, fr, ar]) => ({ code, fr, ar }));
export const regionByCode = (code) => REGIONS.find((r) => r.code === code);
export const regionName = (code) => regionByCode(code)?.fr ?? code;

/** The French label of a health for a region or agent (red says why: silent or failing). */
export function healthLabel(health, reasons = []) {
  switch (health) {
    case 'green': return 'Synchronisé';
    case 'amber': return 'En retard';
    case 'red': return reasons.some((r) => r.code === 'agent-silent') ? 'Silencieux' : 'En échec';
    default: return 'Aucun agent';
  }
}

export const REASONS = {
  'agent-silent': 'Agent silencieux',
  'sync-stalled': 'Synchronisation bloquée',
  'backlog-full': 'Arriéré plein (collecte arrêtée)',
  'plugin-quarantined': 'Plugin en quarantaine',
  'schema-refused': 'Lot refusé : schéma incompatible',
  'revoked-credential-used': 'Identifiant révoqué utilisé',
  'sync-late': 'Synchronisation en retard',
  'backlog-growing': 'Arriéré en hausse',
  'plugin-failing': 'Plugin en échec',
  'rows-rejected': 'Lignes rejetées',
  'disk-low': 'Disque presque plein',
  'never-synced': 'Jamais synchronisé',
};
export const reasonLabel = (code) => REASONS[code] ?? code;

export const SEVERITY = { critical: 'Critique', warning: 'Avertissement', info: 'Information' };

const countryNames = (() => {
  try {
    return new Intl.DisplayNames(['fr'], { type: 'region' });
  } catch {
    return null;
  }
})();
/** « FR » → « France » (the code when unknown). */
export function country(code) {
  try {
    const n = countryNames?.of(code);
    return n && n !== code ? n : code;
  } catch {
    return code;
  }
}

/**
 * h('a', {href: '#/', class: 'x'}, 'text', child…) — attributes set with setAttribute (or as
 * properties for on*, hidden, disabled, value), children appended as text or nodes.
 */
export function h(tag, attrs, ...children) {
  const svg = tag.startsWith('svg:');
  const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'hidden' || k === 'disabled' || k === 'value' || k === 'checked' || k === 'selected') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}
function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

export function badge(health, reasons) {
  return h('span', { class: `badge h-${health || 'none'}` }, healthLabel(health, reasons));
}

/** A region name in French, with its Arabic name. */
export function regionTitle(code, link = true) {
  const r = regionByCode(code);
  const fr = r ? r.fr : code;
  return [
    link ? h('a', { href: `#/region/${code}` }, fr) : fr,
    r ? [' ', h('span', { class: 'ar', lang: 'ar', dir: 'rtl' }, r.ar)] : null,
  ];
}

/** A <dl> from [[label, value, title?], …]. */
export function facts(rows) {
  return h('dl', { class: 'facts' }, rows.filter(Boolean).map(([k, v, title]) => [
    h('dt', {}, k), h('dd', title ? { title } : {}, v),
  ]));
}

/** A table; columns: [{label, num?}], rows: arrays of cells (strings or nodes). */
export function table(caption, columns, rows, attrs = {}) {
  return h('div', { class: 'table-wrap' }, h('table', attrs,
    caption ? h('caption', {}, caption) : null,
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null }, c.label)))),
    h('tbody', {}, rows.map((r) => h('tr', r.attrs || {}, (r.cells || r).map((cell, i) => h('td', { class: columns[i]?.num ? 'num' : null }, cell)))))));
}
