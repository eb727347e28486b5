// views/media.js: #/media/<id>, one media: the player (hls.js for an HLS rendition, the MP4 link
// otherwise) on a signed link that is fetched again before it expires, the copyable link and its
// countdown, views (totals and a Chart.js chart per day), and the renders with live progress.
import { api, sameOrigin } from '../api.js';
import { h, field, showError, showMessage, formatBytes, formatDuration, formatDate, utcDays } from '../ui.js';
import { renderRow, trackedJobs, trackJob } from './jobs.js';

const MEDIA_POLL_MS = 2000;
const VIEWS_POLL_MS = 5000;
// The link is fetched again at this share of its lifetime (stream_ttl, 600 s by default).
const REFRESH_AT = 0.8;
const RANGES = [7, 30, 90];

function fact(dt, dd) {
  return [h('dt', { text: dt }), h('dd', { text: dd })];
}

/** linkParams(url): the expires and sig of a signed link, for POST /media/:id/view. */
function linkParams(u) {
  const q = new URL(u, location.origin).searchParams;
  return { expires: q.get('expires'), sig: q.get('sig') };
}

export function mediaView(main, scope, [idText]) {
  const id = Number(idText);
  const page = h('article', { class: 'media-page', dataset: { testid: 'media-page', mediaId: String(id) }, 'aria-labelledby': 'media-title' });
  const title = h('h1', { id: 'media-title', text: `Media ${id}` });
  const facts = h('dl', { class: 'facts wide' });
  const reason = h('p', { class: 'error-text', dataset: { testid: 'media-status-reason' } });

  // ---- player and link ----
  const video = h('video', { controls: true, playsinline: true, preload: 'metadata', dataset: { testid: 'player' }, 'aria-label': 'Player' });
  const linkIn = h('input', { id: 'stream-link', type: 'text', readonly: true, dataset: { testid: 'stream-link' }, class: 'mono' });
  const copyBtn = h('button', { type: 'button', dataset: { testid: 'copy-link' }, text: 'Copy' });
  const expiry = h('span', { class: 'expiry', dataset: { testid: 'link-expiry' }, 'aria-live': 'off' });
  const newLinkBtn = h('button', { type: 'button', dataset: { testid: 'link-refresh' }, text: 'New link' });

  let media = null;
  // { url, hlsUrl, posterUrl, expiresAt, issuedAt, expiresIso }: expiresAt and issuedAt in this
  // browser's clock (ms): the server's expiresAt less the clock skew read from the answer's Date.
  let link = null;
  let hls = null;
  let refreshTimer = null;
  let viewPosted = false;
  let linkLoading = null;
  // A newer link fetched while the video played: the player moves to it when it plays again
  // (after a pause) or the old link is refused (403/410), never in the middle of playback.
  let pendingSwap = false;
  // Consecutive player failures (a refused link, a media error), for backoff and a cap: never a
  // request loop.
  let failures = 0;
  const MAX_FAILURES = 4;
  let img = null; // an image media: an <img> in place of the video

  function countdown() {
    if (!link) {
      expiry.textContent = '';
      return;
    }
    const left = Math.round((link.expiresAt - Date.now()) / 1000);
    expiry.textContent = left > 0 ? `expires in ${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}` : 'expired';
    expiry.title = new Date(link.expiresAt).toLocaleString();
    expiry.dataset.expiresAt = link.expiresIso;
  }

  /** keepPlace(): where the player is, for attach(). */
  function keepPlace() {
    return { t: video.currentTime, playing: !video.paused && !video.ended };
  }

  /** attach(keep): (re)loads the player on the current link; keep = { t, playing } keeps the place. */
  function attach(keep) {
    pendingSwap = false;
    if (img) {
      img.src = sameOrigin(link.url);
      return;
    }
    if (hls) {
      hls.destroy();
      hls = null;
    }
    const useHls = Boolean(link.hlsUrl) && typeof window.Hls !== 'undefined' && window.Hls.isSupported();
    const kind = link.hlsUrl && (useHls || video.canPlayType('application/vnd.apple.mpegurl')) ? 'hls' : 'mp4';
    const onMeta = () => {
      video.dataset.source = kind;
      if (keep) {
        // hls.js starts at startPosition; the browser's own player (MP4, native HLS) is moved here.
        if (!useHls && keep.t > 0) video.currentTime = keep.t;
        if (keep.playing) video.play().catch(() => {});
      }
    };
    video.addEventListener('loadedmetadata', onMeta, { once: true });
    if (link.posterUrl) video.poster = sameOrigin(link.posterUrl);
    if (useHls) {
      const Hls = window.Hls;
      hls = new Hls({ startPosition: keep && keep.t > 0 ? keep.t : -1, enableWorker: true });
      let recoveries = 0;
      hls.on(Hls.Events.FRAG_LOADED, () => {
        failures = 0;
      });
      hls.on(Hls.Events.ERROR, (_ev, data) => {
        if (!data.fatal) return;
        const status = data.response && data.response.code;
        if (data.type === Hls.ErrorTypes.NETWORK_ERROR && (status === 403 || status === 410)) {
          playerFailed('The stream link was refused'); // a link past its expiry: a new one, same place
        } else if (data.type === Hls.ErrorTypes.MEDIA_ERROR && recoveries < 2) {
          recoveries++;
          hls.recoverMediaError();
        } else {
          showMessage(`The player stopped: ${data.details}`, 'error');
        }
      });
      hls.loadSource(sameOrigin(link.hlsUrl));
      hls.attachMedia(video);
    } else {
      video.src = sameOrigin(kind === 'hls' ? link.hlsUrl : link.url);
    }
  }

  /**
   * playerFailed(what): the player could not load (a refused link, a media error): it moves to a
   * newer link if one is waiting, else a new link is fetched after a backoff (1, 2, 4 s); after
   * MAX_FAILURES in a row it stops and says so.
   */
  function playerFailed(what) {
    if (!scope.alive || !link) return;
    if (pendingSwap && link.expiresAt > Date.now() + 5000) {
      attach(keepPlace());
      return;
    }
    if (failures >= MAX_FAILURES) {
      if (hls) hls.stopLoad();
      showMessage(`${what}; the player gave up after ${MAX_FAILURES} attempts. Press "New link" to try again.`, 'error');
      return;
    }
    const delay = 1000 * 2 ** failures;
    failures++;
    scope.cancel(refreshTimer);
    refreshTimer = scope.after(delay, () => refreshLink(true));
  }

  /**
   * refreshLink(swap): a new signed link (GET stream-url), its expiry read in this clock (the
   * answer's Date gives the skew). swap: the player moves to it, at the same time and in the same
   * state, at once when paused, else when it plays again or the old link is refused. Schedules the
   * next refresh at REFRESH_AT of the link's lifetime.
   */
  function refreshLink(swap) {
    if (linkLoading) return linkLoading;
    linkLoading = (async () => {
      try {
        const { data: s, serverDate, received } = await api('GET', `/media/${id}/stream-url`, { signal: scope.signal, withDate: true });
        // Date has whole seconds: the server's clock is on average half a second past it.
        const skew = serverDate === null ? 0 : serverDate + 500 - received;
        const hadHls = link && Boolean(link.hlsUrl);
        const expiresServer = Date.parse(s.expiresAt);
        link = {
          url: s.url,
          hlsUrl: s.hlsUrl || null,
          posterUrl: s.posterUrl || null,
          expiresAt: expiresServer - skew,
          issuedAt: received,
          expiresIso: Number.isNaN(expiresServer) ? String(s.expiresAt) : new Date(expiresServer).toISOString(),
        };
        linkIn.value = s.url;
        countdown();
        const fresh = video.currentTime === 0 && video.paused;
        if (img) {
          // An image is read once; again only when it did not load.
          if (!img.complete || img.naturalWidth === 0) attach(null);
        } else if (!video.dataset.source || (fresh && Boolean(link.hlsUrl) !== hadHls)) {
          attach(null);
        } else if (swap) {
          if (video.paused) attach(keepPlace());
          else pendingSwap = true;
        }
        scope.cancel(refreshTimer);
        const life = Math.max(10000, link.expiresAt - received);
        refreshTimer = scope.after(Math.floor(life * REFRESH_AT), () => refreshLink(true));
      } catch (e) {
        if (e.name === 'AbortError') return;
        showError(e);
        scope.cancel(refreshTimer);
        refreshTimer = null;
        if (e.status !== 401 && e.status !== 404) refreshTimer = scope.after(5000, () => refreshLink(swap));
      } finally {
        linkLoading = null;
      }
    })();
    return linkLoading;
  }

  // A tab in the background runs timers late: check the link when playback (re)starts; a newer
  // link fetched while it played is taken now.
  video.addEventListener('play', () => {
    if (link && link.expiresAt - Date.now() < 15000) {
      refreshLink(true);
      return;
    }
    if (pendingSwap) {
      attach(keepPlace());
      return;
    }
    if (!viewPosted) postView();
  });
  // The browser's own player read the link: it works.
  video.addEventListener('loadedmetadata', () => {
    if (!hls) failures = 0;
  });
  video.addEventListener('ended', () => {
    viewPosted = false;
  });
  // The browser's own player (MP4, native HLS) failed: whatever the cause (an expired or refused
  // link shows as a plain network or decode error), a new link, with backoff and a cap.
  video.addEventListener('error', () => {
    if (hls || !link || !video.getAttribute('src')) return;
    playerFailed('The player could not load the media');
  });
  document.addEventListener('visibilitychange', onVisible);
  scope.onDispose(() => {
    document.removeEventListener('visibilitychange', onVisible);
    if (hls) hls.destroy();
    hls = null;
    video.removeAttribute('src');
    video.load();
    document.title = 'mediad console'; // index.html's title, as every other page has it
  });
  function onVisible() {
    if (document.visibilityState === 'visible' && link && link.issuedAt + (link.expiresAt - link.issuedAt) * REFRESH_AT < Date.now()) refreshLink(true);
  }

  async function postView() {
    viewPosted = true;
    try {
      // The link's own signature, as a viewer holding only the link would: no token needed.
      await api('POST', `/media/${id}/view`, { query: linkParams(link.url), auth: false, signal: scope.signal });
      loadViews();
    } catch (e) {
      if (e.name !== 'AbortError' && e.status !== 429) showError(e);
    }
  }

  copyBtn.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(linkIn.value);
      showMessage('Link copied.', 'info');
    } catch {
      linkIn.select();
      showMessage('Press Ctrl+C to copy the selected link.', 'info');
    }
  });
  newLinkBtn.addEventListener('click', () => {
    failures = 0;
    refreshLink(true);
  });

  // ---- views ----
  const total = h('strong', { class: 'num', dataset: { testid: 'views-total' }, text: '0' });
  const unique = h('strong', { class: 'num', dataset: { testid: 'views-unique' }, text: '0' });
  const rangeSel = h('select', { id: 'views-range', dataset: { testid: 'views-range' } }, RANGES.map((n) => h('option', { value: String(n), text: `Last ${n} days`, selected: n === 7 })));
  const canvas = h('canvas', { dataset: { testid: 'views-chart', points: '[]' }, role: 'img', 'aria-label': 'Views per day' });
  let chart = null;

  function draw(days, values) {
    canvas.dataset.points = JSON.stringify(values);
    canvas.setAttribute('aria-label', `Views per day, ${days[0]} to ${days[days.length - 1]}: ${values.reduce((a, b) => a + b, 0)} in all`);
    if (typeof window.Chart === 'undefined') return;
    const labels = days.map((d) => d.slice(5));
    if (!chart) {
      chart = new window.Chart(canvas, {
        type: 'bar',
        data: { labels, datasets: [{ label: 'Views', data: values, backgroundColor: '#2f6fdf' }] },
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
          plugins: { legend: { display: false } },
        },
      });
      scope.onDispose(() => chart.destroy());
    } else {
      chart.data.labels = labels;
      chart.data.datasets[0].data = values;
      chart.update('none');
    }
  }

  let viewsTimer = null;
  async function loadViews() {
    scope.cancel(viewsTimer);
    try {
      const days = utcDays(Number(rangeSel.value));
      const [all, range] = await Promise.all([
        api('GET', `/media/${id}/analytics`, { signal: scope.signal }),
        api('GET', `/media/${id}/analytics`, { query: { from: days[0], to: days[days.length - 1] }, signal: scope.signal }),
      ]);
      total.textContent = String(all.total_views);
      unique.textContent = String(all.unique_ips);
      const per = range.views_per_day || {};
      draw(days, days.map((d) => per[d] || 0));
    } catch (e) {
      showError(e);
      if (e.status === 401 || e.status === 404) return;
    }
    viewsTimer = scope.after(VIEWS_POLL_MS, loadViews);
  }
  rangeSel.addEventListener('change', loadViews);

  // ---- renders ----
  const presetSel = h('select', { id: 'render-preset', dataset: { testid: 'render-preset' } });
  const startBtn = h('button', { type: 'button', class: 'primary', dataset: { testid: 'render-start' }, text: 'Start render' });
  const rows = h('ul', { class: 'jobs', dataset: { testid: 'render-list' }, 'aria-label': 'Renders' });
  const rowById = new Map();

  function addRow(jobId, first) {
    if (rowById.has(jobId)) return;
    const row = renderRow(jobId, scope, () => loadMedia());
    rowById.set(jobId, row);
    if (first) rows.prepend(row);
    else rows.append(row);
  }

  function fillPresets() {
    const opts = [];
    if (media.kind === 'video') opts.push(['poster', 'Poster (thumbnail JPEG)'], ['hls', 'HLS ladder'], ['storyboard', 'Storyboard']);
    else if (media.kind === 'audio') opts.push(['hls', 'HLS (audio)']);
    // Only a project's asset takes the project presets (POST /projects/:id/render).
    if (media.projectId) {
      opts.push(['mp4', 'MP4 (project render)']);
      if (media.kind !== 'audio') opts.push(['thumbnail', 'Thumbnail 320 px (project render)']);
    }
    const keep = presetSel.value;
    presetSel.replaceChildren(...opts.map(([v, t]) => h('option', { value: v, text: t })));
    if (opts.some(([v]) => v === keep)) presetSel.value = keep;
    startBtn.disabled = opts.length === 0;
  }

  startBtn.addEventListener('click', async () => {
    const preset = presetSel.value;
    startBtn.disabled = true;
    try {
      const res =
        preset === 'mp4' || preset === 'thumbnail'
          ? await api('POST', `/projects/${media.projectId}/render`, { body: { assetId: id, preset }, signal: scope.signal })
          : await api('POST', `/media/${id}/renditions`, { body: { preset }, signal: scope.signal });
      trackJob(id, res.jobId);
      addRow(res.jobId, true);
      showMessage(`Render started (${preset}).`, 'info');
      loadMedia();
    } catch (e) {
      showError(e);
    } finally {
      startBtn.disabled = false;
    }
  });

  // ---- the media itself ----
  let mediaTimer = null;
  async function loadMedia() {
    scope.cancel(mediaTimer);
    try {
      const first = !media;
      const was = media && media.status;
      media = await api('GET', `/media/${id}`, { signal: scope.signal });
      page.dataset.status = media.status;
      title.textContent = media.title || `Media ${id}`;
      document.title = `${title.textContent} – mediad console`;
      const res = media.width && media.height ? `${media.width}×${media.height}` : '–';
      const rend = (media.renditions || []).map((r) => (r.kind === 'hls' ? r.name : r.kind));
      facts.replaceChildren(
        ...fact('Status', media.status),
        ...fact('Kind', `${media.kind} (${media.mime})`),
        ...fact('Duration', formatDuration(media.durationMs)),
        ...fact('Size', formatBytes(media.sizeBytes)),
        ...fact('Resolution', res),
        ...fact('Codecs', [media.videoCodec, media.audioCodec].filter(Boolean).join(', ') || '–'),
        ...fact('Renditions', rend.length ? rend.join(', ') : 'none yet'),
        ...fact('Created', formatDate(media.createdAt)),
      );
      reason.textContent = media.status === 'failed' && media.statusReason ? `Failed: ${media.statusReason}` : '';
      if (first) fillPresets();
      if (first && media.kind === 'image' && !img) {
        // An image has nothing to play: shown as an <img> on the signed link.
        img = h('img', { class: 'still', alt: media.title || `Media ${id}`, dataset: { testid: 'player-image' } });
        img.addEventListener('load', () => {
          failures = 0;
        });
        img.addEventListener('error', () => {
          if (img.getAttribute('src')) playerFailed('The image could not be loaded');
        });
        video.replaceWith(img);
      }
      for (const j of media.renditionJobs || []) addRow(j.id, false);
      if (first) for (const jid of trackedJobs(id)) addRow(jid, false);
      // Renditions finished since the link was made: a new link (with hlsUrl, posterUrl).
      if (first) refreshLink(false);
      else if (was === 'processing' && media.status !== 'processing') refreshLink(false);
      if (media.status === 'processing') mediaTimer = scope.after(MEDIA_POLL_MS, loadMedia);
    } catch (e) {
      showError(e);
      if (e.status !== 401 && e.status !== 404) mediaTimer = scope.after(MEDIA_POLL_MS * 2, loadMedia);
    }
  }

  page.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/media', text: '← Library' })),
    title,
    reason,
    h(
      'div',
      { class: 'media-layout' },
      h(
        'section',
        { class: 'card player-card', 'aria-labelledby': 'player-h' },
        h('h2', { id: 'player-h', text: 'Player' }),
        video,
        field('Stream link (10 minutes)', linkIn),
        h('div', { class: 'row' }, copyBtn, newLinkBtn, expiry),
      ),
      h('section', { class: 'card', 'aria-labelledby': 'facts-h' }, h('h2', { id: 'facts-h', text: 'Details' }), facts),
      h(
        'section',
        { class: 'card views-card', 'aria-labelledby': 'views-h' },
        h('h2', { id: 'views-h', text: 'Views' }),
        h('div', { class: 'stats' }, h('p', {}, total, h('span', { text: ' views in all' })), h('p', {}, unique, h('span', { text: ' unique IPs' }))),
        field('Range', rangeSel),
        h('div', { class: 'chart-box' }, canvas),
      ),
      h(
        'section',
        { class: 'card renders-card', 'aria-labelledby': 'renders-h' },
        h('h2', { id: 'renders-h', text: 'Renders' }),
        h('div', { class: 'row end' }, field('Preset', presetSel), startBtn),
        rows,
      ),
    ),
  );
  main.append(page);
  scope.poll(1000, () => {
    countdown();
  });
  loadMedia();
  loadViews();
}
