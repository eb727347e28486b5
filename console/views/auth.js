// views/auth.js: the login and signup forms.
import { api, setToken } from '../api.js';
import { h, field, showError, flash, clearMessage } from '../ui.js';

function credentialsForm(testid, submitLabel, onSubmit, email = '') {
  const emailIn = h('input', { id: 'email', type: 'email', name: 'email', autocomplete: 'username', required: true, value: email });
  const pw = h('input', {
    id: 'password',
    type: 'password',
    name: 'password',
    autocomplete: testid === 'signup-form' ? 'new-password' : 'current-password',
    required: true,
  });
  const submit = h('button', { type: 'submit', class: 'primary', text: submitLabel });
  const form = h('form', { class: 'card auth', dataset: { testid }, novalidate: false }, field('Email', emailIn), field('Password', pw), submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    try {
      await onSubmit(emailIn.value.trim(), pw.value);
    } catch (e) {
      showError(e);
    } finally {
      submit.disabled = false;
    }
  });
  return { form, emailIn, pw };
}

/** loginView(main, scope, params): #/login. On success: the token is kept and the app goes to #/media. */
export function loginView(main) {
  const pending = sessionStorage.getItem('mediad.signup-email') || '';
  sessionStorage.removeItem('mediad.signup-email');
  const { form, emailIn, pw } = credentialsForm(
    'login-form',
    'Log in',
    async (email, password) => {
      const res = await api('POST', '/auth/login', { body: { email, password }, auth: false });
      clearMessage();
      setToken(res.token, (res.user && res.user.email) || email);
      location.hash = '#/media';
    },
    pending,
  );
  main.append(
    h('h1', { text: 'Log in' }),
    form,
    h('p', {}, 'No account yet? ', h('a', { href: '#/signup', dataset: { testid: 'to-signup' }, text: 'Sign up' })),
  );
  (pending ? pw : emailIn).focus();
}

/** signupView: #/signup. On success the user is logged in and the app goes to #/media. */
export function signupView(main) {
  const { form, emailIn } = credentialsForm('signup-form', 'Sign up', async (email, password) => {
    await api('POST', '/auth/signup', { body: { email, password }, auth: false });
    // Signed up: logged in at once with the same credentials, as a user expects.
    try {
      const res = await api('POST', '/auth/login', { body: { email, password }, auth: false });
      setToken(res.token, (res.user && res.user.email) || email);
      flash('Account created: you are logged in.', 'info');
      location.hash = '#/media';
    } catch (e) {
      // The account exists; a login refused now (rate limited...) is for the login form.
      sessionStorage.setItem('mediad.signup-email', email);
      flash(`Account created; log in: ${e.message}`, 'info');
      location.hash = '#/login';
    }
  });
  main.append(
    h('h1', { text: 'Sign up' }),
    form,
    h('p', {}, 'Have an account? ', h('a', { href: '#/login', dataset: { testid: 'to-login' }, text: 'Log in' })),
  );
  emailIn.focus();
}
