// Hand-written SVG charts: time series (bars or line) over the history buckets, horizontal bars.
// Each chart has a text title and summary for screen readers.
import { h, num, TZ } from './fmt.js';

let uid = 0;
const W = 420;
const H = 190;
const M = { l: 64, r: 8, t: 10, b: 26 };

function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) {
    if (m * p >= v) return m * p;
  }
  return 10 * p;
}

const hourFmt = new Intl.DateTimeFormat('fr-MA', { timeZone: TZ, hour: '2-digit', minute: '2-digit' });
const dayFmt = new Intl.DateTimeFormat('fr-MA', { timeZone: TZ, weekday: 'short', day: 'numeric' });

/**
 * A time-series chart of history points.
 * opts: {title, points, key, from, to, step_s, range ('day'|'week'), kind ('bars'|'line'),
 *        format (value → text), summary ('sum'|'max')}
 */
export function timeChart(opts) {
  const id = `chart-${++uid}`;
  const { points, key, step_s: step, format } = opts;
  const from = opts.from;
  const to = opts.to ?? from + points.length * step;
  const values = points.map((p) => Number(p[key]) || 0);
  const max = Math.max(0, ...values);
  const top = niceMax(max);
  const iw = W - M.l - M.r;
  const ih = H - M.t - M.b;
  const x = (t) => M.l + ((t - from) / Math.max(1, to - from)) * iw;
  const y = (v) => M.t + ih - (v / top) * ih;
  const kids = [];
  // grid and y labels (only the baseline when there is nothing to show)
  for (const f of max > 0 ? [0, 0.5, 1] : [0]) {
    const v = top * f;
    kids.push(h('svg:line', { class: f === 0 ? 'axis' : 'grid', x1: M.l, x2: W - M.r, y1: y(v), y2: y(v) }));
    kids.push(h('svg:text', { x: M.l - 6, y: y(v) + 4, 'text-anchor': 'end' }, format(v)));
  }
  // x ticks: every 6 h over a day, every day over a week
  const tick = opts.range === 'week' ? 86400 : 6 * 3600;
  for (let t = Math.ceil(from / tick) * tick; t <= to; t += tick) {
    const xt = x(t);
    kids.push(h('svg:line', { class: 'grid', x1: xt, x2: xt, y1: M.t, y2: M.t + ih }));
    const d = new Date(t * 1000);
    kids.push(h('svg:text', { x: xt, y: H - 8, 'text-anchor': 'middle' }, opts.range === 'week' ? dayFmt.format(d) : hourFmt.format(d)));
  }
  const bw = Math.max(0.6, (step / Math.max(1, to - from)) * iw - (opts.range === 'week' ? 0.6 : 0.3));
  if (opts.kind === 'line') {
    let d = '';
    points.forEach((p, i) => {
      d += `${i ? 'L' : 'M'}${x(p.t + step / 2).toFixed(1)},${y(values[i]).toFixed(1)}`;
    });
    if (points.length) {
      const base = y(0).toFixed(1);
      const area = `${d}L${x(points[points.length - 1].t + step / 2).toFixed(1)},${base}L${x(points[0].t + step / 2).toFixed(1)},${base}Z`;
      kids.push(h('svg:path', { class: 'area', d: area }));
      kids.push(h('svg:path', { class: 'line', d }));
    }
  } else {
    let d = '';
    points.forEach((p, i) => {
      if (values[i] > 0) {
        const y0 = y(0);
        const y1 = Math.min(y(values[i]), y0 - 1);
        d += `M${x(p.t).toFixed(1)},${y0.toFixed(1)}V${y1.toFixed(1)}h${bw.toFixed(2)}V${y0.toFixed(1)}Z`;
      }
    });
    if (d) kids.push(h('svg:path', { class: 'bars', d }));
  }
  if (max === 0) {
    kids.push(h('svg:text', { x: M.l + iw / 2, y: M.t + ih / 2, 'text-anchor': 'middle', class: 'empty' }, 'Aucune donnée sur la période'));
  }
  const total = values.reduce((a, b) => a + b, 0);
  const summary = opts.summary === 'max' ? `maximum ${format(max)}` : `total ${format(total)}`;
  const period = opts.range === 'week' ? '7 derniers jours' : 'dernières 24 heures';
  return h('figure', { class: 'chart', 'data-chart': key },
    h('figcaption', { id: `${id}-t` }, opts.title, ' ', h('span', {}, `(${period} : ${summary})`)),
    h('svg:svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': `${id}-t`, preserveAspectRatio: 'xMidYMid meet' },
      h('svg:title', {}, `${opts.title}, ${period} : ${summary}`), kids));
}

/** Horizontal bars: items [{label, value, text}], sorted as given. */
export function hbars(title, items) {
  const rowH = 22;
  const lw = 200;
  const width = 600;
  const max = Math.max(1e-9, ...items.map((i) => i.value));
  const height = items.length * rowH + 6;
  const kids = items.map((it, i) => {
    const yy = i * rowH + 4;
    const bw = Math.max(it.value > 0 ? 1 : 0, (it.value / max) * (width - lw - 110));
    return h('svg:g', {},
      h('svg:text', { x: lw - 6, y: yy + 14, 'text-anchor': 'end' }, it.label),
      h('svg:rect', { class: 'bar', x: lw, y: yy + 2, width: bw.toFixed(1), height: rowH - 7, rx: 2 }),
      h('svg:text', { class: 'val', x: lw + bw + 6, y: yy + 14 }, it.text ?? num(it.value)));
  });
  return h('figure', { class: 'chart hbars' },
    h('figcaption', {}, title),
    h('svg:svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': title },
      h('svg:title', {}, `${title} : ${items.map((i) => `${i.label} ${i.text ?? num(i.value)}`).join(' ; ')}`), kids));
}
