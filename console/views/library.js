// views/library.js: #/media, the media library: a paginated grid of cards (poster, title,
// duration, size, status, date), upload by picker or drag-and-drop with a progress bar, delete
// with confirmation. While any media on the page is processing, the page is read again every 2 s.
import { api, upload, sameOrigin, onAuthChange } from '../api.js';
import { h, showError, showMessage, confirmDialog, formatBytes, formatDuration, formatDate } from '../ui.js';

const PAGE = 24;
const POLL_MS = 2000;

// Poster links per media id: { url, until } (ms), fetched from stream-url and kept until shortly
// before they expire, across visits of the page.
const posters = new Map();
// Signed links belong to the session: gone on logout or an expired token (401).
onAuthChange((loggedIn) => {
  if (!loggedIn) posters.clear();
});

async function posterFor(m, signal) {
  if (!(m.renditions || []).some((r) => r.kind === 'poster')) return null;
  const c = posters.get(m.id);
  if (c && c.until > Date.now()) return c.url;
  const s = await api('GET', `/media/${m.id}/stream-url`, { signal });
  if (!s.posterUrl) return null;
  const until = Date.parse(s.expiresAt) - 60000;
  posters.set(m.id, { url: sameOrigin(s.posterUrl), until });
  return sameOrigin(s.posterUrl);
}

export function libraryView(main, scope) {
  const params = new URLSearchParams(location.hash.split('?')[1] || '');
  let offset = Math.max(0, Number(params.get('offset')) || 0);

  // ---- upload ----
  const input = h('input', {
    type: 'file',
    id: 'upload-input',
    accept: 'video/*,audio/*',
    dataset: { testid: 'upload-input' },
  });
  const progress = h('progress', { max: '100', value: '0', dataset: { testid: 'upload-progress' }, 'aria-label': 'Upload progress' });
  const progressText = h('span', { class: 'progress-text', 'aria-live': 'polite' });
  const drop = h(
    'div',
    { class: 'drop-zone', dataset: { testid: 'drop-zone' } },
    h('p', {}, 'Drop a video or audio file here, or '),
    h('label', { for: 'upload-input', class: 'button' , text: 'choose a file' }),
    input,
    h('div', { class: 'progress-row' }, progress, progressText),
  );
  let busy = false;

  async function send(file) {
    if (!file || busy) return;
    busy = true;
    progress.value = 0;
    progressText.textContent = `Uploading ${file.name}: 0 %`;
    const fd = new FormData();
    fd.append('title', file.name.replace(/\.[^.]+$/, '') || file.name);
    fd.append('file', file, file.name);
    const job = upload('/media', fd, (pct) => {
      progress.value = pct;
      progressText.textContent = `Uploading ${file.name}: ${pct} %`;
    });
    try {
      const m = await job.promise;
      progress.value = 100;
      progressText.textContent = `Uploaded ${file.name}`;
      showMessage(`Uploaded "${m.title}"${m.status === 'processing' ? ': its renditions are being made.' : '.'}`, 'info');
      offset = 0;
      refresh();
    } catch (e) {
      progressText.textContent = `Upload of ${file.name} failed`;
      showError(e);
    } finally {
      busy = false;
      input.value = '';
    }
  }

  input.addEventListener('change', () => send(input.files[0]));
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const f = e.dataTransfer && e.dataTransfer.files[0];
    if (f) send(f);
  });
  // A file dropped beside the zone would make the browser open it in place of the console.
  const swallow = (e) => {
    if (e.dataTransfer && [...e.dataTransfer.types].includes('Files')) e.preventDefault();
  };
  window.addEventListener('dragover', swallow);
  window.addEventListener('drop', swallow);
  scope.onDispose(() => {
    window.removeEventListener('dragover', swallow);
    window.removeEventListener('drop', swallow);
  });

  // ---- grid ----
  const grid = h('ul', { class: 'grid', 'aria-label': 'Media', dataset: { testid: 'media-grid' } });
  const empty = h('p', { class: 'muted', text: 'No media yet: upload one above.', hidden: true });
  const prev = h('button', { type: 'button', text: '← Previous', dataset: { testid: 'page-prev' } });
  const next = h('button', { type: 'button', text: 'Next →', dataset: { testid: 'page-next' } });
  const pageInfo = h('span', { class: 'muted', 'aria-live': 'polite' });
  prev.addEventListener('click', () => {
    offset = Math.max(0, offset - PAGE);
    refresh();
  });
  next.addEventListener('click', () => {
    offset += PAGE;
    refresh();
  });
  const cards = new Map();

  function statusBadge(m) {
    const b = h('span', { class: `badge ${m.status}`, text: m.status });
    if (m.status === 'failed' && m.statusReason) b.title = m.statusReason;
    return b;
  }

  function fill(card, m) {
    card.dataset.status = m.status;
    card.querySelector('.status').replaceChildren(statusBadge(m));
    if (m.status === 'failed' && m.statusReason) card.querySelector('.reason').textContent = m.statusReason;
    else card.querySelector('.reason').textContent = '';
    const thumb = card.querySelector('.thumb');
    if (thumb.dataset.poster !== '1') {
      posterFor(m, scope.signal)
        .then((url) => {
          if (!url) return;
          const img = h('img', { src: url, alt: `Poster of ${m.title}`, loading: 'lazy', decoding: 'async' });
          thumb.replaceChildren(img);
          thumb.dataset.poster = '1';
        })
        .catch(() => {});
    }
  }

  function buildCard(m) {
    const del = h('button', { type: 'button', class: 'danger small', dataset: { testid: 'delete-media' }, 'aria-label': `Delete ${m.title}`, text: 'Delete' });
    const card = h(
      'li',
      { class: 'media-card', dataset: { testid: 'media-card', mediaId: String(m.id), status: m.status } },
      h('div', { class: 'thumb', 'aria-hidden': 'true' }, h('span', { class: 'placeholder', text: m.kind === 'audio' ? '♪' : '▶' })),
      h('h2', {}, h('a', { href: `#/media/${m.id}`, dataset: { testid: 'open-media' }, text: m.title || `Media ${m.id}` })),
      h(
        'dl',
        { class: 'facts' },
        h('dt', { text: 'Duration' }), h('dd', { text: formatDuration(m.durationMs) }),
        h('dt', { text: 'Size' }), h('dd', { text: formatBytes(m.sizeBytes) }),
        h('dt', { text: 'Status' }), h('dd', { class: 'status' }),
        h('dt', { text: 'Created' }), h('dd', {}, h('time', { datetime: m.createdAt, text: formatDate(m.createdAt) })),
      ),
      h('p', { class: 'reason error-text' }),
      h('div', { class: 'row' }, del),
    );
    del.addEventListener('click', async () => {
      if (!(await confirmDialog(`Delete "${m.title}"? Its file and renditions are removed.`))) return;
      try {
        await api('DELETE', `/media/${m.id}`, { signal: scope.signal });
        posters.delete(m.id);
        showMessage(`Deleted "${m.title}".`, 'info');
        refresh();
      } catch (e) {
        showError(e);
      }
    });
    return card;
  }

  let pollTimer = null;
  let loading = false;
  // A reload asked for while one runs (an upload or a delete finishing during a poll): one more
  // reload runs right after the current one, so the change is never missed.
  let pending = false;

  async function refresh() {
    if (!scope.alive) return;
    if (loading) {
      pending = true;
      return;
    }
    loading = true;
    pending = false;
    scope.cancel(pollTimer);
    pollTimer = null;
    try {
      const page = await api('GET', '/media', { query: { limit: PAGE, offset }, signal: scope.signal });
      if (page.items.length === 0 && offset > 0 && page.total > 0) {
        offset = Math.max(0, Math.floor((page.total - 1) / PAGE) * PAGE);
        pending = true;
        return;
      }
      const seen = new Set();
      page.items.forEach((m, i) => {
        seen.add(m.id);
        let card = cards.get(m.id);
        if (!card) {
          card = buildCard(m);
          cards.set(m.id, card);
        }
        if (grid.children[i] !== card) grid.insertBefore(card, grid.children[i] || null);
        fill(card, m);
      });
      for (const [id, card] of cards) {
        if (!seen.has(id)) {
          card.remove();
          cards.delete(id);
        }
      }
      empty.hidden = page.total > 0;
      prev.disabled = offset === 0;
      next.disabled = offset + PAGE >= page.total;
      pageInfo.textContent = page.total ? `${offset + 1}–${offset + page.items.length} of ${page.total}` : '';
      if (page.items.some((m) => m.status === 'processing')) pollTimer = scope.after(POLL_MS, refresh);
    } catch (e) {
      showError(e);
      if (scope.alive && e.status !== 401 && e.name !== 'AbortError') pollTimer = scope.after(POLL_MS * 2, refresh);
    } finally {
      loading = false;
      if (pending && scope.alive) {
        scope.cancel(pollTimer);
        pollTimer = null;
        refresh();
      }
    }
  }

  main.append(
    h('h1', { text: 'Media library' }),
    h('section', { class: 'card', 'aria-labelledby': 'upload-h' }, h('h2', { id: 'upload-h', text: 'Upload' }), drop),
    h('section', { 'aria-labelledby': 'lib-h' }, h('h2', { id: 'lib-h', class: 'sr-only', text: 'Your media' }), empty, grid, h('nav', { class: 'pager', 'aria-label': 'Pages' }, prev, pageInfo, next)),
  );
  refresh();
}
