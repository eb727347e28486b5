// app.js: the console's entry point: the hash router, the header (who is logged in, log out) and
// the message line. Views live in views/; the API wrapper in api.js.
import { api, getToken, getEmail, clearToken, onAuthChange, setExpiredHandler } from './api.js';
import { Scope, flash, showFlashOrClear, showError } from './ui.js';
import { loginView, signupView } from './views/auth.js';
import { libraryView } from './views/library.js';
import { mediaView } from './views/media.js';
import { projectsView, projectView } from './views/projects.js';

// Route table: pattern, view, whether it needs a token, the nav entry it lights up.
const routes = [
  { re: /^\/login$/, view: loginView, auth: false },
  { re: /^\/signup$/, view: signupView, auth: false },
  { re: /^\/media$/, view: libraryView, auth: true, nav: 'media' },
  { re: /^\/media\/(\d+)$/, view: mediaView, auth: true, nav: 'media' },
  { re: /^\/projects$/, view: projectsView, auth: true, nav: 'projects' },
  { re: /^\/projects\/(\d+)$/, view: projectView, auth: true, nav: 'projects' },
];

let scope = null;

function header() {
  const logged = Boolean(getToken());
  document.getElementById('nav').hidden = !logged;
  document.getElementById('logout').hidden = !logged;
  document.getElementById('who').textContent = logged ? getEmail() : '';
}

function render() {
  const path = (location.hash || '').replace(/^#/, '');
  if (!path) {
    location.replace(getToken() ? '#/media' : '#/login');
    return;
  }
  let match = null;
  let route = routes.find((r) => (match = r.re.exec(path)));
  if (!route) {
    location.replace(getToken() ? '#/media' : '#/login');
    return;
  }
  if (route.auth && !getToken()) {
    location.replace('#/login');
    return;
  }
  if (scope) scope.dispose();
  scope = new Scope();
  const main = document.getElementById('main');
  main.replaceChildren();
  header();
  document.querySelectorAll('#nav a').forEach((a) => {
    if (a.dataset.nav === route.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  });
  showFlashOrClear();
  try {
    route.view(main, scope, match.slice(1));
  } catch (e) {
    showError(e);
  }
}

async function logout() {
  const btn = document.getElementById('logout');
  btn.disabled = true;
  // The view's polls stop first: one sent while the token is being revoked would be refused (401)
  // and read as an expired session.
  if (scope) scope.dispose();
  try {
    // Revokes the token server-side; whatever it answers, this tab forgets it.
    await api('POST', '/auth/logout');
  } catch (e) {
    if (e.name === 'AbortError') return;
  } finally {
    btn.disabled = false;
  }
  clearToken();
  flash('Logged out.', 'info');
  location.hash = '#/login';
}

setExpiredHandler((text) => {
  flash(text, 'error');
  if (location.hash === '#/login') render();
  else location.hash = '#/login';
});
onAuthChange(header);
document.getElementById('logout').addEventListener('click', logout);
window.addEventListener('hashchange', render);
render();
