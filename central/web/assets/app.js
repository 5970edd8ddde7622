// ExportSync hub dashboard: login, navigation (#/…), auto-refresh of the current page.
import { ApiError, api, frenchError, setCsrf, setSessionLostHandler } from './api.js';
import { view as adminView } from './admin.js';
import { agentView, regionView } from './agents.js';
import { view as alertsView } from './alerts.js';
import { h } from './fmt.js';
import { view as indicatorsView } from './indicators.js';
import { view as overviewView } from './overview.js';

const $ = (id) => document.getElementById(id);

const routes = [
  [/^#?\/?$/, 'overview', (ctx) => overviewView(ctx)],
  [/^#\/region\/([A-Z]{2}-\d{2})$/, 'overview', (ctx, m) => regionView(ctx, m[1])],
  [/^#\/agent\/(.+)$/, 'overview', (ctx, m) => agentView(ctx, decodeURIComponent(m[1]))],
  [/^#\/alertes$/, 'alerts', (ctx) => alertsView(ctx)],
  [/^#\/indicateurs(?:\/([A-Za-z0-9-]+))?$/, 'indicators', (ctx, m) => indicatorsView(ctx, m[1] || 'national')],
  [/^#\/admin$/, 'admin', (ctx) => adminView(ctx)],
];

let current = null; // {timer, interval, update, alive}
let loggedIn = false;

function banner(text) {
  const b = $('banner');
  b.textContent = text || '';
  b.hidden = !text;
}

function setAlertCount(open) {
  const n = open ? (open.critical || 0) + (open.warning || 0) + (open.info || 0) : 0;
  const el = $('nav-alerts');
  el.textContent = String(n);
  el.hidden = n === 0;
  el.setAttribute('aria-label', `${n} alerte${n > 1 ? 's' : ''} ouverte${n > 1 ? 's' : ''}`);
}

function stop() {
  if (current) {
    current.alive = false;
    clearTimeout(current.timer);
  }
  current = null;
}

async function runSafely(state, fn) {
  try {
    await fn();
    if (state.alive) banner('');
  } catch (e) {
    if (!state.alive) return;
    if (e instanceof ApiError && e.status === 401) return; // the login form is shown
    banner(frenchError(e));
  }
}

function schedule(state) {
  if (!state.interval || !state.alive) return;
  clearTimeout(state.timer);
  state.timer = setTimeout(async () => {
    // No refresh while the page is hidden or an inline confirmation is open.
    if (!document.hidden && !state.el.querySelector('[data-action="confirm"]')) {
      await runSafely(state, state.update);
    }
    schedule(state);
  }, state.interval);
}

async function route(focus) {
  if (!loggedIn) return;
  stop();
  const hash = location.hash || '#/';
  const view = $('view');
  const el = h('div', { class: 'page' });
  view.replaceChildren(el);
  let match = null;
  let entry = null;
  for (const r of routes) {
    match = hash.match(r[0]);
    if (match) {
      entry = r;
      break;
    }
  }
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (entry && a.dataset.nav === entry[1]) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (!entry) {
    el.append(h('h1', {}, 'Page inconnue'), h('p', {}, h('a', { href: '#/' }, "Retour à la vue d'ensemble")));
    return;
  }
  const state = { alive: true, el, timer: 0 };
  const ctx = {
    el,
    setAlertCount,
    run: (fn) => runSafely(state, fn),
  };
  current = state;
  const v = entry[2](ctx, match);
  state.update = v.update;
  state.interval = v.interval;
  document.title = `${v.title} — ExportSync`;
  if (focus) {
    const h1 = el.querySelector('h1');
    if (h1) {
      h1.setAttribute('tabindex', '-1');
      h1.focus();
    }
  }
  if (v.update) {
    await runSafely(state, v.update);
    schedule(state);
  }
}

function showLogin(message) {
  loggedIn = false;
  stop();
  setCsrf(null);
  $('nav').hidden = true;
  $('who').hidden = true;
  $('view').hidden = true;
  $('view').replaceChildren();
  banner('');
  $('login').hidden = false;
  const err = $('login-error');
  err.textContent = message || '';
  err.hidden = !message;
  document.title = 'Connexion — ExportSync';
  $('login-user').focus();
}

function showApp(session) {
  loggedIn = true;
  setCsrf(session.csrf_token);
  $('login').hidden = true;
  $('login-password').value = '';
  $('nav').hidden = false;
  $('who').hidden = false;
  $('who-name').textContent = session.user;
  $('view').hidden = false;
}

async function start() {
  setSessionLostHandler((e) => showLogin(frenchError(e)));
  $('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const button = $('login-submit');
    const user = $('login-user').value.trim();
    const password = $('login-password').value;
    const err = $('login-error');
    if (!user || !password) {
      err.textContent = 'Saisissez votre identifiant et votre mot de passe.';
      err.hidden = false;
      return;
    }
    button.disabled = true;
    try {
      const s = await api('POST', '/api/v1/session', { user, password });
      showApp(s);
      await route(true);
    } catch (e) {
      err.textContent = frenchError(e);
      err.hidden = false;
      $('login-password').select();
    } finally {
      button.disabled = false;
    }
  });
  $('logout').addEventListener('click', async () => {
    try {
      await api('DELETE', '/api/v1/session');
    } catch {
      // the session is gone either way
    }
    showLogin('Vous êtes déconnecté.');
  });
  window.addEventListener('hashchange', () => route(true));
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && current && current.update) {
      runSafely(current, current.update);
    }
  });
  try {
    const s = await api('GET', '/api/v1/session');
    showApp(s);
    await route(false);
  } catch (e) {
    showLogin(e instanceof ApiError && e.code === 'no-credential' ? '' : frenchError(e));
  }
}

start();
