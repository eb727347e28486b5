// views/jobs.js: one render job as a row with a live progress bar: GET /jobs/:id every second while
// it is waiting or active; its failure reason once failed; a cancel button meanwhile.
import { api } from '../api.js';
import { h, showError } from '../ui.js';

const JOB_POLL_MS = 1000;
const LIVE = new Set(['waiting', 'active']);

/** trackedJobs(mediaId): ids of the jobs this tab started on a media (shown again on return). */
export function trackedJobs(mediaId) {
  try {
    return JSON.parse(sessionStorage.getItem(`mediad.jobs.${mediaId}`) || '[]');
  } catch {
    return [];
  }
}

export function trackJob(mediaId, jobId) {
  const list = trackedJobs(mediaId).filter((j) => j !== jobId);
  list.unshift(jobId);
  sessionStorage.setItem(`mediad.jobs.${mediaId}`, JSON.stringify(list.slice(0, 20)));
}

/**
 * renderRow(jobId, scope, onEnd, initial): an <li> that follows the job until it ends (onEnd() then),
 * polling within scope. initial: the job as a list already gave it (saves the first GET).
 */
export function renderRow(jobId, scope, onEnd, initial) {
  const progress = h('progress', { max: '100', value: '0', dataset: { testid: 'render-progress' }, 'aria-label': `Progress of job ${jobId.slice(0, 8)}` });
  const label = h('span', { class: 'job-preset', text: 'render' });
  const state = h('span', { class: 'badge', text: '…' });
  const pct = h('span', { class: 'pct', text: '0 %' });
  const error = h('p', { class: 'error-text', dataset: { testid: 'render-error' }, hidden: true });
  const cancel = h('button', { type: 'button', class: 'small', dataset: { testid: 'render-cancel' }, text: 'Cancel', hidden: true });
  const row = h(
    'li',
    { class: 'job', dataset: { testid: 'render-row', jobId, state: 'waiting' } },
    h('div', { class: 'row' }, label, state, h('code', { class: 'muted', text: jobId.slice(0, 8), title: jobId }), cancel),
    h('div', { class: 'progress-row' }, progress, pct),
    error,
  );

  function show(j) {
    row.dataset.state = j.state;
    label.textContent = j.preset;
    state.textContent = j.state;
    state.className = `badge ${j.state}`;
    const p = j.state === 'completed' ? 100 : Math.max(0, Math.min(100, j.progress || 0));
    progress.value = p;
    pct.textContent = `${p} %`;
    cancel.hidden = !LIVE.has(j.state);
    if (j.state === 'failed' || j.state === 'cancelled') {
      error.hidden = false;
      error.textContent = j.failedReason ? `${j.state === 'failed' ? 'Failed' : 'Cancelled'}: ${j.failedReason}` : j.state === 'failed' ? 'Failed.' : 'Cancelled.';
    } else {
      error.hidden = true;
      error.textContent = '';
    }
  }

  let ended = false;
  cancel.addEventListener('click', async () => {
    cancel.disabled = true;
    try {
      await api('DELETE', `/jobs/${jobId}`, { signal: scope.signal });
    } catch (e) {
      showError(e);
    } finally {
      cancel.disabled = false;
    }
  });

  if (initial) show(initial);
  scope.poll(JOB_POLL_MS, async () => {
    try {
      const j = await api('GET', `/jobs/${jobId}`, { signal: scope.signal });
      show(j);
      if (LIVE.has(j.state)) return true;
    } catch (e) {
      if (e.name === 'AbortError') return false;
      if (e.status === 404) {
        row.dataset.state = 'gone';
        state.textContent = 'gone';
        return false;
      }
      showError(e);
      return e.status !== 401;
    }
    if (!ended) {
      ended = true;
      if (onEnd) onEnd();
    }
    return false;
  });
  return row;
}
