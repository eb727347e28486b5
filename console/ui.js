// ui.js: small DOM helpers shared by the views: element building, the message line, the confirm
// dialog, a scope that owns a view's timers, and formatting.

/**
 * h(tag, attrs, ...children): a new element. attrs: class, text, dataset (object), on<event>
 * (a listener), true (a bare attribute), anything else as an attribute; null/false are skipped.
 * Never a style attribute: the CSP forbids them.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

const messageEl = () => document.querySelector('[data-testid=message]');

/** showMessage(text, kind): the message line (role=alert); kind 'error' (default) or 'info'. */
export function showMessage(text, kind = 'error') {
  const m = messageEl();
  if (!m) return;
  m.textContent = text;
  m.dataset.kind = text ? kind : 'none';
}

export function clearMessage() {
  showMessage('', 'none');
}

/** showError(e): the message of an ApiError (or any Error); an AbortError shows nothing. */
export function showError(e) {
  if (!e || e.name === 'AbortError') return;
  showMessage(e.message || String(e), 'error');
}

/** confirmDialog(text): resolves true when the user confirms, in the page's <dialog>. */
export function confirmDialog(text, yesLabel = 'Delete') {
  const dlg = document.getElementById('confirm-dialog');
  dlg.querySelector('#confirm-text').textContent = text;
  dlg.querySelector('[data-testid=confirm-yes]').textContent = yesLabel;
  dlg.returnValue = '';
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => resolve(dlg.returnValue === 'yes'), { once: true });
    dlg.showModal();
    dlg.querySelector('[data-testid=confirm-no]').focus();
  });
}

/**
 * Scope: what one view owns (timers, polls, an AbortController); dispose() on leaving the view
 * stops them all, so no poll of an old page keeps running.
 */
export class Scope {
  constructor() {
    this.ctrl = new AbortController();
    this.timers = new Set();
    this.cleanups = [];
    this.alive = true;
  }

  get signal() {
    return this.ctrl.signal;
  }

  after(ms, fn) {
    if (!this.alive) return null;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.alive) fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  cancel(t) {
    if (t === null) return;
    clearTimeout(t);
    this.timers.delete(t);
  }

  /** poll(ms, fn): fn() now, then ms after each run ends (never two at once) until disposed or fn returns false. */
  poll(ms, fn) {
    const run = async () => {
      if (!this.alive) return;
      let again = true;
      try {
        again = (await fn()) !== false;
      } catch (e) {
        if (e && e.name !== 'AbortError') console.warn(e);
      }
      if (again) this.after(ms, run);
    };
    run();
  }

  onDispose(fn) {
    this.cleanups.push(fn);
  }

  dispose() {
    this.alive = false;
    this.ctrl.abort();
    this.timers.forEach((t) => clearTimeout(t));
    this.timers.clear();
    this.cleanups.splice(0).forEach((fn) => {
      try {
        fn();
      } catch (e) {
        console.warn(e);
      }
    });
  }
}

export function formatBytes(n) {
  if (n === null || n === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = Number(n);
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function formatDuration(ms) {
  if (ms === null || ms === undefined) return '–';
  const s = Math.round(ms / 1000);
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

export function formatDate(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/** utcDays(n): the last n days (UTC, YYYY-MM-DD), oldest first, today last. */
export function utcDays(n) {
  const out = [];
  const now = Date.now();
  for (let i = n - 1; i >= 0; i--) out.push(new Date(now - i * 86400000).toISOString().slice(0, 10));
  return out;
}

/** field(label, control, id): a <label for> and its control, in one wrapper. */
export function field(label, control, hint) {
  return h('div', { class: 'field' }, h('label', { for: control.id, text: label }), control, hint ? h('small', { text: hint }) : null);
}

let flashed = null;

/** flash(text, kind): a message to show after the next route change (which clears the line). */
export function flash(text, kind = 'error') {
  flashed = { text, kind };
}

/** showFlashOrClear(): on a route change, the flashed message, else an empty line. */
export function showFlashOrClear() {
  if (flashed) showMessage(flashed.text, flashed.kind);
  else clearMessage();
  flashed = null;
}

// ---- focus -------------------------------------------------------------------------------------
// The skip link is a hash link, and every hash is a route here: its own click moves focus to the
// page's content instead, and the hash stays as it is.

/** focusMain(): focus the view's heading (made focusable), else <main>. */
export function focusMain() {
  const main = document.getElementById('main');
  if (!main) return;
  const heading = main.querySelector('h1');
  const target = heading || main;
  if (heading && !heading.hasAttribute('tabindex')) heading.setAttribute('tabindex', '-1');
  target.focus({ preventScroll: target === main });
}

document.addEventListener('click', (e) => {
  const a = e.target instanceof Element ? e.target.closest('a.skip') : null;
  if (!a) return;
  e.preventDefault();
  focusMain();
});

// On a route change the page's content is replaced: focus goes to its heading (a screen reader
// reads the new page), unless the view already put it in the content (a form's first field).
window.addEventListener('hashchange', () => {
  setTimeout(() => {
    const main = document.getElementById('main');
    const active = document.activeElement;
    if (main && active && active !== main && main.contains(active)) return;
    focusMain();
  }, 0);
});
