// api.js: the console's only way to the API: a fetch wrapper that adds the token, turns error
// answers into readable messages, and sends an expired session back to the login page.
//
// The token lives in memory and in sessionStorage (this tab only, gone with it), never in a
// cookie: the API reads Authorization only.

const KEY = 'mediad.token';
const EMAIL_KEY = 'mediad.email';
let token = sessionStorage.getItem(KEY);
const listeners = new Set();

export function getToken() {
  return token;
}

export function getEmail() {
  return sessionStorage.getItem(EMAIL_KEY) || '';
}

export function setToken(t, email) {
  token = t;
  sessionStorage.setItem(KEY, t);
  if (email) sessionStorage.setItem(EMAIL_KEY, email);
  listeners.forEach((fn) => fn(true));
}

/**
 * clearToken(): forgets the session: every mediad.* key of sessionStorage (the token, the email,
 * anything a view kept there), then tells the listeners (onAuthChange), which drop what they hold
 * for the session (signed links).
 */
export function clearToken() {
  token = null;
  const keys = [];
  for (let i = 0; i < sessionStorage.length; i++) {
    const k = sessionStorage.key(i);
    if (k && k.startsWith('mediad.')) keys.push(k);
  }
  keys.forEach((k) => sessionStorage.removeItem(k));
  listeners.forEach((fn) => fn(false));
}

/** onAuthChange(fn): fn(loggedIn) after every login and logout. */
export function onAuthChange(fn) {
  listeners.add(fn);
}

/** An answer that was not 2xx, or no answer at all (status 0). */
export class ApiError extends Error {
  constructor(status, code, message, extra = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = extra.field || null;
    this.retryAfter = extra.retryAfter || null;
  }
}

// Set by app.js: called with the text to show when the session expired (401 on a call that
// carried a token).
let onExpired = () => {};
export function setExpiredHandler(fn) {
  onExpired = fn;
}

export const SESSION_EXPIRED = 'Your session expired, log in again.';

/**
 * describeError(status, body, retryAfter): the sentence the console shows for an error answer:
 * the API's own message, prefixed where the code alone says what to do.
 */
export function describeError(status, body, retryAfter) {
  const code = body && typeof body.error === 'string' ? body.error : '';
  const msg = body && typeof body.message === 'string' ? body.message : '';
  const wait = retryAfter ? ` Try again in ${retryAfter} s.` : ' Try again later.';
  switch (code || String(status)) {
    case 'quota_exceeded':
      return `Storage quota exceeded: ${msg || 'delete some media first.'}`;
    case 'payload_too_large':
    case '413':
      return `Too large for the server: ${msg || 'the file is past the upload limit.'}`;
    case 'unsupported_media_type':
    case '415':
      return `Not a supported file: ${msg || 'only video and audio can be uploaded here.'}`;
    case 'rate_limited':
    case '429':
      return `Too many requests: ${msg || 'slow down.'}${wait}`;
    case 'insufficient_storage':
      return `The server is out of disk space: ${msg}`;
    case 'unavailable':
    case '503':
      return `The server is unavailable: ${msg || 'try again shortly.'}`;
    default:
      if (msg) return msg;
      return `The server answered ${status}.`;
  }
}

async function readBody(res) {
  const type = res.headers.get('Content-Type') || '';
  if (res.status === 204) return null;
  if (type.includes('json')) {
    try {
      return await res.json();
    } catch {
      return null;
    }
  }
  return null;
}

/**
 * api(method, path, opts): the parsed JSON of a 2xx answer (null for 204). opts: body (an object,
 * sent as JSON), query (an object of search parameters), auth (default true), signal, withDate:
 * then { data, serverDate, received }: the answer's Date header (ms, null when absent or
 * unreadable) and the local time it arrived (ms), to tell this clock's skew from the server's.
 * Throws ApiError otherwise; a 401 on an authenticated call also clears the token and goes to
 * #/login with SESSION_EXPIRED. An aborted call throws the AbortError as it is.
 */
export async function api(method, path, opts = {}) {
  const { body, query, auth = true, signal, withDate = false } = opts;
  const url = new URL(path, location.origin);
  if (query) {
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null) url.searchParams.set(k, v);
  }
  const headers = { Accept: 'application/json' };
  if (auth && token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers, signal, cache: 'no-store', referrerPolicy: 'no-referrer' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  } else if (method === 'POST' || method === 'PATCH') {
    // lighttpd refuses a POST without Content-Length (411); an empty body sends "0".
    init.body = '';
  }
  let res;
  try {
    res = await fetch(url, init);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'The server could not be reached. Check the connection and try again.');
  }
  const received = Date.now();
  const data = await readBody(res);
  if (res.ok) {
    if (!withDate) return data;
    const d = Date.parse(res.headers.get('Date') || '');
    return { data, serverDate: Number.isNaN(d) ? null : d, received };
  }
  if (res.status === 401 && auth && token) {
    clearToken();
    onExpired(SESSION_EXPIRED);
    throw new ApiError(401, 'unauthorized', SESSION_EXPIRED);
  }
  const ra = res.headers.get('Retry-After');
  throw new ApiError(res.status, (data && data.error) || 'http', describeError(res.status, data, ra), {
    field: data && data.field,
    retryAfter: ra,
  });
}

/**
 * upload(path, formData, onProgress): POST a multipart body with XMLHttpRequest, for its upload
 * progress events (fetch has none). onProgress(percent) from 0 to 100. Resolves with the JSON
 * answer; rejects with ApiError like api(). Returns { promise, abort }.
 */
export function upload(path, formData, onProgress) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open('POST', new URL(path, location.origin));
    xhr.setRequestHeader('Accept', 'application/json');
    if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.responseType = 'text';
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable && e.total > 0) onProgress(Math.min(100, Math.floor((e.loaded * 100) / e.total)));
    });
    xhr.addEventListener('load', () => {
      let data = null;
      try {
        data = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        data = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(100);
        resolve(data);
        return;
      }
      if (xhr.status === 401 && token) {
        clearToken();
        onExpired(SESSION_EXPIRED);
      }
      const ra = xhr.getResponseHeader('Retry-After');
      reject(new ApiError(xhr.status, (data && data.error) || 'http', describeError(xhr.status, data, ra), { retryAfter: ra }));
    });
    xhr.addEventListener('error', () =>
      reject(new ApiError(0, 'network', 'The upload was cut off: the server closed the connection (a file past the size limit or the quota is refused before it is read).')));
    xhr.addEventListener('abort', () => reject(new ApiError(0, 'aborted', 'Upload cancelled.')));
    xhr.send(formData);
  });
  return { promise, abort: () => xhr.abort() };
}

/**
 * sameOrigin(url): the API's links are absolute (public_base_url); the console is served on the
 * API's own origin, and its Content-Security-Policy allows only that, so a link naming another
 * host is used by its path and query here.
 */
export function sameOrigin(u) {
  const url = new URL(u, location.origin);
  if (url.origin === location.origin) return url.href;
  return new URL(url.pathname + url.search, location.origin).href;
}
