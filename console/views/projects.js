// views/projects.js: #/projects (list, create, edit, delete) and #/projects/<id> (the project, its
// assets with upload, its renders with live progress and a start button, its events per day).
import { api, upload } from '../api.js';
import { h, field, showError, showMessage, confirmDialog, formatBytes, formatDate, utcDays } from '../ui.js';
import { renderRow } from './jobs.js';

const PAGE = 50;
const EVENT_TYPES = [
  ['play', '#2f6fdf'],
  ['click', '#d9822b'],
  ['impression', '#3a9d5d'],
];

/** projectForm(project, onSaved): the create/edit form (data-testid=project-form). */
function projectForm(project, onSaved) {
  const titleIn = h('input', { id: 'project-title', type: 'text', required: true, maxlength: '200', value: project ? project.title : '' });
  const descIn = h('textarea', { id: 'project-description', rows: '3', maxlength: '5000' });
  descIn.value = project && project.description ? project.description : '';
  const submit = h('button', { type: 'submit', class: 'primary', text: project ? 'Save' : 'Create project' });
  const form = h('form', { class: 'card', dataset: { testid: 'project-form' } }, field('Title', titleIn), field('Description', descIn), submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    try {
      const body = { title: titleIn.value.trim(), description: descIn.value.trim() || null };
      const saved = project ? await api('PATCH', `/projects/${project.id}`, { body }) : await api('POST', '/projects', { body });
      if (!project) {
        titleIn.value = '';
        descIn.value = '';
      }
      showMessage(project ? 'Project saved.' : `Project "${saved.title}" created.`, 'info');
      onSaved(saved);
    } catch (e) {
      showError(e);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

async function deleteProject(p, after) {
  if (!(await confirmDialog(`Delete project "${p.title}"? Its assets and their files are removed.`))) return;
  try {
    await api('DELETE', `/projects/${p.id}`);
    showMessage(`Deleted project "${p.title}".`, 'info');
    after();
  } catch (e) {
    showError(e);
  }
}

export function projectsView(main, scope) {
  let offset = 0;
  const list = h('ul', { class: 'list', 'aria-label': 'Projects', dataset: { testid: 'project-list' } });
  const empty = h('p', { class: 'muted', text: 'No projects yet.', hidden: true });
  const prev = h('button', { type: 'button', text: '← Previous' });
  const next = h('button', { type: 'button', text: 'Next →' });
  const info = h('span', { class: 'muted' });
  prev.addEventListener('click', () => {
    offset = Math.max(0, offset - PAGE);
    load();
  });
  next.addEventListener('click', () => {
    offset += PAGE;
    load();
  });

  function row(p) {
    const del = h('button', { type: 'button', class: 'danger small', dataset: { testid: 'delete-project' }, 'aria-label': `Delete ${p.title}`, text: 'Delete' });
    del.addEventListener('click', () => deleteProject(p, load));
    return h(
      'li',
      { class: 'project-row', dataset: { testid: 'project-row', projectId: String(p.id) } },
      h('div', {}, h('a', { href: `#/projects/${p.id}`, dataset: { testid: 'open-project' }, text: p.title }), h('p', { class: 'muted', text: p.description || '' })),
      h('time', { datetime: p.createdAt, class: 'muted', text: formatDate(p.createdAt) }),
      h('div', { class: 'row' }, h('a', { class: 'button small', href: `#/projects/${p.id}`, text: 'Edit', 'aria-label': `Edit ${p.title}` }), del),
    );
  }

  async function load() {
    try {
      const page = await api('GET', '/projects', { query: { limit: PAGE, offset }, signal: scope.signal });
      list.replaceChildren(...page.items.map(row));
      empty.hidden = page.total > 0;
      prev.disabled = offset === 0;
      next.disabled = offset + PAGE >= page.total;
      info.textContent = page.total ? `${offset + 1}–${offset + page.items.length} of ${page.total}` : '';
    } catch (e) {
      showError(e);
    }
  }

  main.append(
    h('h1', { text: 'Projects' }),
    h('section', { 'aria-labelledby': 'new-h' }, h('h2', { id: 'new-h', text: 'New project' }), projectForm(null, load)),
    h('section', { 'aria-labelledby': 'list-h' }, h('h2', { id: 'list-h', text: 'Your projects' }), empty, list, h('nav', { class: 'pager', 'aria-label': 'Pages' }, prev, info, next)),
  );
  load();
}

export function projectView(main, scope, [idText]) {
  const id = Number(idText);
  const title = h('h1', { text: `Project ${id}` });
  const formBox = h('div');
  const assets = h('ul', { class: 'list', 'aria-label': 'Assets', dataset: { testid: 'asset-list' } });
  const jobs = h('ul', { class: 'jobs', 'aria-label': 'Renders', dataset: { testid: 'render-list' } });
  const rowById = new Map();
  const assetSel = h('select', { id: 'render-asset', dataset: { testid: 'render-asset' } });
  const presetSel = h(
    'select',
    { id: 'render-preset', dataset: { testid: 'render-preset' } },
    ['mp4', 'thumbnail', 'hls', 'poster', 'storyboard'].map((p) => h('option', { value: p, text: p })),
  );
  const startBtn = h('button', { type: 'button', class: 'primary', dataset: { testid: 'render-start' }, text: 'Start render' });

  // ---- asset upload ----
  const fileIn = h('input', { type: 'file', id: 'asset-input', accept: 'image/*,video/*,audio/*', dataset: { testid: 'asset-input' } });
  const progress = h('progress', { max: '100', value: '0', dataset: { testid: 'asset-progress' }, 'aria-label': 'Asset upload progress' });
  fileIn.addEventListener('change', async () => {
    const f = fileIn.files[0];
    if (!f) return;
    const fd = new FormData();
    fd.append('asset', f, f.name);
    progress.value = 0;
    try {
      await upload(`/projects/${id}/assets`, fd, (p) => {
        progress.value = p;
      }).promise;
      showMessage(`Uploaded ${f.name}.`, 'info');
      loadAssets();
    } catch (e) {
      showError(e);
    } finally {
      fileIn.value = '';
    }
  });

  async function loadProject() {
    try {
      const p = await api('GET', `/projects/${id}`, { signal: scope.signal });
      title.textContent = p.title;
      const del = h('button', { type: 'button', class: 'danger', dataset: { testid: 'delete-project' }, text: 'Delete project' });
      del.addEventListener('click', () => deleteProject(p, () => (location.hash = '#/projects')));
      formBox.replaceChildren(projectForm(p, (saved) => (title.textContent = saved.title)), h('div', { class: 'row' }, del));
    } catch (e) {
      showError(e);
    }
  }

  // Every asset, uploads and render outputs alike (origin=all; the API lists uploads only by
  // default), read 200 (the API's largest page) at a time. The newest load wins.
  const ASSET_PAGE = 200;
  const ASSET_MAX = 10000;
  let assetsGen = 0;
  async function loadAssets() {
    const gen = ++assetsGen;
    try {
      const items = [];
      for (let offset = 0; offset < ASSET_MAX; offset += ASSET_PAGE) {
        const part = await api('GET', `/projects/${id}/assets`, {
          query: { origin: 'all', limit: ASSET_PAGE, offset },
          signal: scope.signal,
        });
        if (gen !== assetsGen) return;
        items.push(...part.items);
        if (part.items.length < ASSET_PAGE || offset + part.items.length >= part.total) break;
      }
      const page = { items };
      assets.replaceChildren(
        ...page.items.map((m) =>
          h(
            'li',
            { class: 'asset-row', dataset: { testid: 'asset-row', mediaId: String(m.id) } },
            h('a', { href: `#/media/${m.id}`, text: m.title || m.originalName || `Media ${m.id}` }),
            h('span', { class: 'muted', text: `${m.kind}, ${formatBytes(m.sizeBytes)}, ${m.origin === 'render' ? 'render output' : 'upload'}` }),
            h('span', { class: `badge ${m.status}`, text: m.status }),
          ),
        ),
      );
      const keep = assetSel.value;
      assetSel.replaceChildren(
        h('option', { value: '', text: 'Newest upload' }),
        ...page.items.filter((m) => m.origin !== 'render').map((m) => h('option', { value: String(m.id), text: `${m.title} (${m.kind})` })),
      );
      assetSel.value = [...assetSel.options].some((o) => o.value === keep) ? keep : '';
    } catch (e) {
      showError(e);
    }
  }

  async function loadJobs() {
    try {
      const page = await api('GET', `/projects/${id}/jobs`, { query: { limit: 50 }, signal: scope.signal });
      page.items.forEach((j, i) => {
        if (rowById.has(j.id)) return;
        const row = renderRow(j.id, scope, loadAssets, j);
        rowById.set(j.id, row);
        jobs.insertBefore(row, jobs.children[i] || null);
      });
    } catch (e) {
      showError(e);
    }
  }

  startBtn.addEventListener('click', async () => {
    startBtn.disabled = true;
    try {
      const body = { preset: presetSel.value };
      if (assetSel.value) body.assetId = Number(assetSel.value);
      await api('POST', `/projects/${id}/render`, { body, signal: scope.signal });
      showMessage(`Render started (${body.preset}).`, 'info');
      loadJobs();
    } catch (e) {
      showError(e);
    } finally {
      startBtn.disabled = false;
    }
  });

  // ---- events per day, by type ----
  const totals = h('p', { dataset: { testid: 'event-totals' } });
  const canvas = h('canvas', { dataset: { testid: 'events-chart', points: '{}' }, role: 'img', 'aria-label': 'Events per day by type' });
  let chart = null;
  async function loadEvents() {
    try {
      const a = await api('GET', `/projects/${id}/analytics`, { signal: scope.signal });
      const days = utcDays(30);
      const per = a.per_day || {};
      totals.textContent = EVENT_TYPES.map(([t]) => `${a.totals[t] || 0} ${t}`).join(', ');
      const series = Object.fromEntries(EVENT_TYPES.map(([t]) => [t, days.map((d) => (per[d] && per[d][t]) || 0)]));
      canvas.dataset.points = JSON.stringify(series);
      if (typeof window.Chart === 'undefined') return;
      const labels = days.map((d) => d.slice(5));
      const datasets = EVENT_TYPES.map(([t, color]) => ({ label: t, data: series[t], backgroundColor: color }));
      if (!chart) {
        chart = new window.Chart(canvas, {
          type: 'bar',
          data: { labels, datasets },
          options: {
            animation: false,
            responsive: true,
            maintainAspectRatio: false,
            scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
          },
        });
        scope.onDispose(() => chart.destroy());
      } else {
        chart.data.labels = labels;
        chart.data.datasets.forEach((ds, i) => (ds.data = datasets[i].data));
        chart.update('none');
      }
    } catch (e) {
      showError(e);
    }
  }

  main.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/projects', text: '← Projects' })),
    title,
    h(
      'div',
      { class: 'media-layout' },
      h('section', { class: 'card', 'aria-labelledby': 'edit-h' }, h('h2', { id: 'edit-h', text: 'Edit' }), formBox),
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'assets-h' },
        h('h2', { id: 'assets-h', text: 'Assets' }),
        field('Upload an asset (image, video or audio)', fileIn),
        progress,
        assets,
      ),
      h(
        'section',
        { class: 'card renders-card', 'aria-labelledby': 'renders-h' },
        h('h2', { id: 'renders-h', text: 'Renders' }),
        h('div', { class: 'row end' }, field('Asset', assetSel), field('Preset', presetSel), startBtn),
        jobs,
      ),
      h('section', { class: 'card views-card', 'aria-labelledby': 'events-h' }, h('h2', { id: 'events-h', text: 'Events, last 30 days' }), totals, h('div', { class: 'chart-box' }, canvas)),
    ),
  );
  loadProject();
  loadAssets();
  scope.poll(5000, async () => {
    await loadJobs();
    await loadEvents();
  });
}
