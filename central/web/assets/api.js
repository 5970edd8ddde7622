// The hub's JSON API (docs/dashboard-api.md): same origin, session cookie, CSRF token (kept in
// memory only) on every state-changing request, refusals mapped to French.

let csrfToken = null;
let onSessionLost = () => {};

export function setCsrf(token) {
  csrfToken = token;
}
export function setSessionLostHandler(fn) {
  onSessionLost = fn;
}

export class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

const MESSAGES = {
  'no-credential': 'Veuillez vous connecter.',
  'session-expired': 'Votre session a expiré ; veuillez vous reconnecter.',
  'unknown-credential': 'Jeton inconnu.',
  'bad-login': 'Identifiant ou mot de passe incorrect.',
  'agent-credential': "Les identifiants d'agent n'ont pas accès à cette page.",
  csrf: 'Jeton de sécurité manquant ou invalide ; rechargez la page.',
  'bad-json': 'Requête invalide.',
  'bad-request': 'Requête invalide.',
  'bad-region': 'Région inconnue (MA-01 à MA-12).',
  'bad-ttl': 'Durée de validité invalide.',
  'bad-range': 'Période inconnue (jour ou semaine).',
  'bad-limit': 'Nombre demandé hors limites.',
  'bad-top': 'Nombre demandé hors limites.',
  'bad-date': 'Date de référence invalide (AAAA-MM-JJ).',
  'unknown-agent': 'Agent inconnu.',
  'unknown-alert': 'Alerte inconnue ou déjà résolue.',
  'unknown-dataset': 'Jeu de données inconnu.',
  'not-found': 'Page inconnue.',
  'too-large': 'Requête trop volumineuse.',
  store: "Erreur du serveur central ; réessayez, puis prévenez l'exploitation.",
  internal: "Erreur du serveur central ; réessayez, puis prévenez l'exploitation.",
  network: 'Le hub central ne répond pas ; vérifiez la connexion réseau puis réessayez.',
};

/** The French message for an error (an ApiError or anything else). */
export function frenchError(err) {
  if (err instanceof ApiError) {
    if (err.code === 'rate-limited') {
      const s = Number(err.retryAfter) || 60;
      const min = Math.max(1, Math.ceil(s / 60));
      return `Trop de tentatives ; réessayez dans ${min} minute${min > 1 ? 's' : ''}.`;
    }
    if (MESSAGES[err.code]) return MESSAGES[err.code];
    if (err.status >= 500) return MESSAGES.internal;
    return `Erreur inattendue (HTTP ${err.status}).`;
  }
  return `Erreur inattendue : ${err && err.message ? err.message : err}`;
}

/** One request; resolves to the parsed JSON body, rejects with an ApiError. */
export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(0, 'network', String(e));
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) {
    const err = new ApiError(res.status, data?.error || `http-${res.status}`, data?.message || '', res.headers.get('Retry-After'));
    if (res.status === 401 && path !== '/api/v1/session' && ['no-credential', 'session-expired'].includes(err.code)) {
      onSessionLost(err);
    }
    throw err;
  }
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body);

/** Query string from an object, leaving out empty values. */
export function qs(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, v);
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}
