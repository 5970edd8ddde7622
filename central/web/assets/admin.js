// « Administration »: create an enrolment code for a region (shown once), revoke an agent.
import { get, post } from './api.js';
import { agentsTable } from './agents.js';
import { REGIONS, h, when } from './fmt.js';
import { busy, messageArea, slot } from './ui.js';

let formCount = 0;

/** The enrolment-code form; `fixedRegion` hides the region choice. */
export function enrolmentForm(fixedRegion) {
  const n = ++formCount;
  const msg = messageArea();
  const result = slot();
  const region = fixedRegion
    ? null
    : h('select', { id: `enrol-region-${n}`, name: 'region', required: true },
      h('option', { value: '' }, '— Choisir une région —'),
      REGIONS.map((r) => h('option', { value: r.code }, `${r.code} · ${r.fr}`)));
  const ttl = h('select', { id: `enrol-ttl-${n}`, name: 'ttl_s' },
    h('option', { value: '3600' }, '1 heure'),
    h('option', { value: '86400' }, '24 heures'),
    h('option', { value: '604800', selected: true }, '7 jours'),
    h('option', { value: '2592000' }, '30 jours'));
  const submit = h('button', { type: 'submit', id: fixedRegion ? null : 'enrol-submit' }, "Créer un code d'enrôlement");
  const form = h('form', { class: 'controls', 'data-form': 'enrol' },
    region ? h('div', { class: 'field' }, h('label', { for: region.id }, 'Région'), region) : null,
    h('div', { class: 'field' }, h('label', { for: ttl.id }, 'Validité'), ttl),
    submit);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const code = fixedRegion || region.value;
    if (!code) {
      msg.error('Choisissez une région.');
      region.focus();
      return;
    }
    busy(submit, async () => {
      msg.clear();
      try {
        const r = await post('/api/v1/admin/enrolment-codes', { region: code, ttl_s: Number(ttl.value) });
        const info = REGIONS.find((x) => x.code === r.region);
        result.set(h('div', { class: 'panel', 'data-enrolment-code': r.code },
          h('p', {}, `Code d'enrôlement pour ${info ? info.fr : r.region} (${r.region}) :`),
          h('p', {}, h('output', { class: 'code-box', id: `enrol-code-${n}`, 'aria-live': 'polite' }, r.code)),
          h('p', { class: 'note' }, `Ce code n'est affiché qu'une seule fois et n'est valable qu'une fois ; il expire le ${when(r.expires_at)}. `,
            "Transmettez-le au bureau régional par un canal sûr ; sur la machine de l'agent : ",
            h('code', {}, `exportsyncctl enroll --hub ${location.origin} --code ${r.code}`), '.')));
        msg.ok("Code d'enrôlement créé.");
      } catch (e) {
        msg.error(e);
      }
    });
  });
  return h('div', {}, form, msg.el, result.el);
}

export function view(ctx) {
  const agents = slot();
  const msg = messageArea();
  ctx.el.append(
    h('h1', {}, 'Administration'),
    h('section', { class: 'panel', 'aria-labelledby': 'adm-enrol' },
      h('h2', { id: 'adm-enrol' }, "Créer un code d'enrôlement"),
      h('p', { class: 'note' }, "Un code permet à un nouvel agent de s'enrôler une fois, pour la région choisie."),
      enrolmentForm(null)),
    h('section', { class: 'panel', 'aria-labelledby': 'adm-agents' },
      h('h2', { id: 'adm-agents' }, 'Agents enrôlés'),
      h('p', { class: 'note' }, "Révoquer l'identifiant d'un agent (machine perdue, compromise ou remplacée) : ses prochaines requêtes sont refusées et signalées par une alerte."),
      msg.el, agents.el));
  async function update() {
    const list = await get('/api/v1/admin/agents');
    const sorted = [...list.agents].sort((a, b) => (a.region + a.hostname).localeCompare(b.region + b.hostname));
    agents.set(agentsTable(sorted, msg, update, { withRegion: true }));
  }
  return { title: 'Administration', update, interval: 30000 };
}
