// Shared page pieces: replacing a refreshed block without losing the keyboard focus, buttons
// that show they are busy, inline confirmations, status messages.
import { frenchError } from './api.js';
import { h } from './fmt.js';

/** Replaces `old` by `next`; the focused element (found again by its data-key) keeps the focus. */
export function swap(old, next) {
  const active = document.activeElement;
  const key = active && old.contains(active) ? active.getAttribute('data-key') : null;
  old.replaceWith(next);
  if (key) {
    const again = next.querySelector(`[data-key="${CSS.escape(key)}"]`);
    if (again) again.focus();
  }
  return next;
}

/** A slot whose content is replaced at each refresh. */
export function slot(attrs = {}) {
  let el = h('div', attrs);
  return {
    get el() { return el; },
    set(...children) {
      const next = h('div', attrs, ...children);
      el = swap(el, next);
    },
  };
}

/** Runs `fn` with the button disabled and marked busy. */
export async function busy(button, fn) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

/** A message area (role=status) that says what happened, in French. */
export function messageArea() {
  const el = h('p', { role: 'status', class: 'note', 'aria-live': 'polite' });
  return {
    el,
    ok(text) {
      el.className = 'note';
      el.textContent = text;
    },
    error(err) {
      el.className = 'error';
      el.textContent = typeof err === 'string' ? err : frenchError(err);
    },
    clear() {
      el.className = 'note';
      el.textContent = '';
    },
  };
}

/**
 * A dangerous action behind an inline confirmation: `label` shows « Confirmer » and « Annuler »
 * in its place; `action` runs on confirmation.
 */
export function confirmButton(label, confirmLabel, action, attrs = {}) {
  const wrap = h('span', { class: 'confirm' });
  const first = h('button', { type: 'button', class: 'danger small', ...attrs }, label);
  const render = (asking) => {
    wrap.replaceChildren();
    if (!asking) {
      wrap.append(first);
      return;
    }
    const yes = h('button', { type: 'button', class: 'danger small', 'data-action': 'confirm' }, confirmLabel);
    const no = h('button', { type: 'button', class: 'secondary small' }, 'Annuler');
    yes.addEventListener('click', () => busy(yes, action).finally(() => render(false)));
    no.addEventListener('click', () => {
      render(false);
      first.focus();
    });
    wrap.append(yes, no);
    yes.focus();
  };
  first.addEventListener('click', () => render(true));
  render(false);
  return wrap;
}

/** A « Jour / Semaine » toggle. */
export function rangeToggle(current, onChange) {
  const seg = h('div', { class: 'seg', role: 'group', 'aria-label': 'Période des graphiques' });
  for (const [value, label] of [['day', 'Dernières 24 h'], ['week', '7 derniers jours']]) {
    const b = h('button', { type: 'button', 'aria-pressed': String(value === current), 'data-range': value }, label);
    b.addEventListener('click', () => {
      for (const o of seg.querySelectorAll('button')) o.setAttribute('aria-pressed', String(o === b));
      onChange(value);
    });
    seg.append(b);
  }
  return seg;
}
