// flow.mjs: the console's end-to-end flow in headless Chromium (Debian's /usr/bin/chromium, driven
// by playwright-core over the DevTools protocol; no browser is downloaded).
//
//   node flow.mjs CLIENT_DIR
//
// CLIENT_DIR is the folder scripts/fetch-npm.sh printed (its node_modules/ holds playwright-core).
// The environment says the rest: CONSOLE_URL (the console's index, e.g. http://127.0.0.1:PORT/console/,
// on the API's origin), CONSOLE_SOURCE (the video to upload), CONSOLE_ARTIFACTS (the folder for the
// screenshots), CONSOLE_MEDIA_PNG (optional: a copy of the media page's screenshot goes there),
// CONSOLE_READY_TIMEOUT (seconds the media may take to become ready, 180).
//
// Steps, at 1280x800: sign up (and a wrong password first, which must say so), log out and log in;
// upload through the file picker until the progress bar shows 100; the media becomes ready; open
// it, play it, seek it; the view count goes up and the chart's last bar (today) is at least 1; a
// thumbnail render (the `poster` preset: a /media upload has no project, so it has no `thumbnail`)
// runs and its progress bar completes; log out. Then the library at 360x740: no horizontal
// overflow. Each step fails on a console error, an uncaught exception, a failed request (but for a
// GET the console cancels as it leaves a view) or a response >= 400 that the step does not expect,
// and saves NN-step.png into CONSOLE_ARTIFACTS.
// Exit 0 when every step passed, else 1 (the failing step and why on stderr).
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, copyFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const clientDir = process.argv[2];
const env = (k, d) => {
	const v = process.env[k] ?? d;
	if (v === undefined) {
		console.error(`flow.mjs: ${k} is not set`);
		process.exit(1);
	}
	return v;
};
const consoleUrl = env('CONSOLE_URL');
const source = env('CONSOLE_SOURCE');
const artifacts = env('CONSOLE_ARTIFACTS');
const mediaPng = process.env.CONSOLE_MEDIA_PNG || '';
const readyTimeout = Number(env('CONSOLE_READY_TIMEOUT', '180')) * 1000;
const { chromium } = createRequire(join(clientDir, 'package.json'))('playwright-core');
const origin = new URL(consoleUrl).origin;
const base = consoleUrl.replace(/#.*$/, '');
mkdirSync(artifacts, { recursive: true });

const log = (...a) => console.log('flow:', ...a);

// ---- what each step must not see ---------------------------------------------------------------
// problems: what went wrong since the step began; expected: [status, RegExp of the URL] pairs the
// step allows (a wrong password's 401, say).
let problems = [];
let expected = [];
// A read the console cancels itself as it leaves a view (ui.js: Scope.dispose() aborts the view's
// fetches; logout disposes the view before revoking the token) fails with net::ERR_ABORTED, which
// is no failure: such a GET is let through when its page changed view (a main-frame navigation,
// hash routes included) within leaveMs of it. Any other failed request is a problem, an aborted
// POST or an abort with no view change nearby included. aborted: that step's [label, page, time,
// text]; navs: each page's navigation times.
const leaveMs = 2000;
let aborted = [];
const navs = new Map();
function settleAborts() {
	for (const [label, page, t, text] of aborted.splice(0)) {
		if ((navs.get(page) ?? []).some((n) => Math.abs(n - t) <= leaveMs))
			log(`${label}: ${text} (a read cancelled on leaving the view: ok)`);
		else problems.push(`${label}: ${text}`);
	}
}
function watch(page, label) {
	navs.set(page, []);
	page.on('framenavigated', (f) => {
		if (f === page.mainFrame()) navs.get(page).push(Date.now());
	});
	page.on('console', (m) => {
		if (m.type() !== 'error') return;
		// Chromium logs every response >= 400 as an error too: an expected one is not a problem.
		const st = /^Failed to load resource: the server responded with a status of (\d+)/.exec(m.text());
		if (st && expected.some(([s, re]) => s === Number(st[1]) && re.test(m.location().url ?? ''))) return;
		problems.push(`${label}: console error: ${m.text()} (${m.location().url || '?'})`);
	});
	page.on('pageerror', (e) => problems.push(`${label}: uncaught exception: ${e.message}`));
	page.on('requestfailed', (r) => {
		const why = r.failure()?.errorText;
		const text = `request failed: ${r.method()} ${r.url()}: ${why}`;
		if (why === 'net::ERR_ABORTED' && r.method() === 'GET' && r.url().startsWith(origin + '/'))
			aborted.push([label, page, Date.now(), text]);
		else problems.push(`${label}: ${text}`);
	});
	page.on('response', (r) => {
		const s = r.status();
		if (s < 400) return;
		if (expected.some(([st, re]) => st === s && re.test(r.url()))) return;
		problems.push(`${label}: HTTP ${s} for ${r.request().method()} ${r.url()}`);
	});
}

let stepNo = 0;
// step NAME PAGE FN [EXPECT]: runs FN, then screenshots PAGE as NN-NAME.png; fails (throws) when FN
// throws or anything of the above happened meanwhile.
async function step(name, page, fn, expect = []) {
	const nn = String(++stepNo).padStart(2, '0');
	const png = join(artifacts, `${nn}-${name}.png`);
	problems = [];
	aborted = [];
	expected = expect;
	const t0 = Date.now();
	log(`--- ${nn} ${name}`);
	try {
		await fn();
	} catch (e) {
		await page.screenshot({ path: png, fullPage: true }).catch(() => {});
		settleAborts();
		throw new Error(`step ${nn} ${name}: ${e.message}${problems.length ? '\n  also: ' + problems.join('\n  also: ') : ''}`);
	}
	// Late arrivals (a console error right after the last action) belong to this step too.
	// A grace period for reports only (it never decides whether the step's work is done: the waits
	// above do, each bounded).
	await page.waitForTimeout(300);
	await page.screenshot({ path: png, fullPage: true });
	settleAborts();
	if (problems.length) throw new Error(`step ${nn} ${name}:\n  ${problems.join('\n  ')}`);
	log(`--- ${nn} ${name}: ok (${Date.now() - t0} ms) ${png}`);
	return png;
}

const hashIs = (page, re, timeout = 15000) =>
	page.waitForFunction((src) => new RegExp(src).test(location.hash), re.source, { timeout });

async function login(page, email, password) {
	await page.goto(`${base}#/login`);
	const form = page.locator('form[data-testid=login-form]');
	await form.waitFor();
	await form.locator('input#email').fill(email);
	await form.locator('input#password').fill(password);
	await form.locator('button[type=submit]').click();
}

const email = `console-${Date.now()}-${process.pid}@example.com`;
const password = 'Password123!';
const profile = mkdtempSync(join(tmpdir(), 'mediad-console-profile.'));
let context;
let status = 0;
try {
	context = await chromium.launchPersistentContext(profile, {
		executablePath: '/usr/bin/chromium',
		headless: true,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
		viewport: { width: 1280, height: 800 },
		timeout: 60000,
	});
	const page = context.pages()[0] ?? (await context.newPage());
	page.setDefaultTimeout(20000);
	watch(page, 'wide');

	// 1. sign up and log in (a wrong password first: the view must say so).
	await step('signup', page, async () => {
		await page.goto(`${base}#/login`);
		await page.locator('form[data-testid=login-form]').waitFor();
		await page.locator('a[data-testid=to-signup]').click();
		await hashIs(page, /^#\/signup$/);
		const form = page.locator('form[data-testid=signup-form]');
		await form.locator('input#email').fill(email);
		await form.locator('input#password').fill(password);
		await form.locator('button[type=submit]').click();
		await hashIs(page, /^#\/media$/);
		await page.locator('[data-testid=upload-input]').waitFor({ state: 'attached' });
	});
	await step('login', page, async () => {
		await page.locator('button[data-testid=logout]').click();
		await hashIs(page, /^#\/login$/);
		await login(page, email, 'wrong-password');
		const msg = page.locator('[data-testid=message]');
		await msg.waitFor();
		if (!(await msg.textContent()).trim()) throw new Error('the message for a wrong password is empty');
		if ((await msg.getAttribute('role')) !== 'alert') throw new Error('[data-testid=message] has no role=alert');
		await login(page, email, password);
		await hashIs(page, /^#\/media$/);
	}, [[401, /\/auth\/login$/]]);

	// 2. upload through the picker; the progress bar reaches 100.
	let mediaId;
	await step('upload', page, async () => {
		const before = await page.locator('[data-testid=media-card]').count();
		await page.locator('input[type=file][data-testid=upload-input]').setInputFiles(source);
		await page.waitForFunction(() => {
			const p = document.querySelector('progress[data-testid=upload-progress]');
			return p && Number(p.value) === 100;
		}, null, { timeout: 120000 });
		await page.waitForFunction((n) => document.querySelectorAll('[data-testid=media-card]').length > n, before,
			{ timeout: 30000 });
		mediaId = await page.locator('[data-testid=media-card]').first().getAttribute('data-media-id');
		if (!/^\d+$/.test(mediaId ?? '')) throw new Error(`the new card's data-media-id is "${mediaId}"`);
		log(`media ${mediaId} uploaded`);
	});

	// 3. the media becomes ready (the automatic renditions hls and poster); its poster loads.
	const card = page.locator(`[data-testid=media-card][data-media-id="${mediaId}"]`);
	await step('ready', page, async () => {
		await page.waitForFunction((id) => {
			const c = document.querySelector(`[data-testid=media-card][data-media-id="${id}"]`);
			const s = c?.getAttribute('data-status');
			if (s === 'failed') throw new Error(`media ${id} failed`);
			return s === 'ready';
		}, mediaId, { timeout: readyTimeout, polling: 500 });
		await page.waitForFunction((id) => [...document.querySelectorAll(
			`[data-testid=media-card][data-media-id="${id}"] img`)].every((i) => i.complete && i.naturalWidth > 0),
		mediaId, { timeout: 15000 });
	});

	// 4. open it, play it, seek it.
	await step('play', page, async () => {
		await card.locator('a[data-testid=open-media]').click();
		await hashIs(page, new RegExp(`^#/media/${mediaId}$`));
		await page.locator(`[data-testid=media-page][data-media-id="${mediaId}"][data-status=ready]`).waitFor();
		await page.locator('video[data-testid=player][data-source]').waitFor({ state: 'attached', timeout: 30000 });
		const src = await page.locator('video[data-testid=player]').getAttribute('data-source');
		// An HLS rendition exists (auto_renditions hls,poster), so hls.js must play it.
		if (src !== 'hls') throw new Error(`the player's data-source is "${src}", not "hls"`);
		for (const t of ['stream-link', 'link-expiry']) {
			const el = page.locator(`[data-testid=${t}]`);
			await el.waitFor();
			if (!(await el.textContent()).trim() && !(await el.getAttribute('href')) && !(await el.inputValue().catch(() => '')))
				throw new Error(`[data-testid=${t}] is empty`);
		}
		// Muted: autoplay without a user gesture is allowed only muted; what is tested is playback.
		await page.evaluate(async () => {
			const v = document.querySelector('video[data-testid=player]');
			v.muted = true;
			await v.play();
		});
		await page.waitForFunction(() => document.querySelector('video[data-testid=player]').currentTime > 0.5,
			null, { timeout: 30000 });
	});
	await step('seek', page, async () => {
		const target = await page.evaluate(() => {
			const v = document.querySelector('video[data-testid=player]');
			const t = Math.max(v.currentTime + 1, (v.duration || 8) * 0.6);
			window.__seeked = false;
			v.addEventListener('seeked', () => { window.__seeked = true; }, { once: true });
			v.currentTime = t;
			return t;
		});
		await page.waitForFunction(() => window.__seeked === true, null, { timeout: 20000 });
		// Playback continues from there.
		await page.waitForFunction((t) => {
			const v = document.querySelector('video[data-testid=player]');
			return !v.paused && v.currentTime > t + 0.3;
		}, target, { timeout: 20000 });
		log(`seeked to ${target.toFixed(2)} s and playing on`);
	});

	// 5. the view count goes up and the chart draws a bar for today.
	await step('views', page, async () => {
		await page.locator('select[data-testid=views-range]').waitFor();
		await page.waitForFunction(() => {
			const n = Number((document.querySelector('[data-testid=views-total]')?.textContent ?? '').replace(/[^\d]/g, ''));
			let pts;
			try {
				pts = JSON.parse(document.querySelector('canvas[data-testid=views-chart]')?.getAttribute('data-points') ?? 'null');
			} catch {
				return false;
			}
			return n >= 1 && Array.isArray(pts) && pts.length > 0 && Number(pts[pts.length - 1]) >= 1;
		}, null, { timeout: 30000, polling: 500 });
		const total = await page.locator('[data-testid=views-total]').textContent();
		const unique = await page.locator('[data-testid=views-unique]').textContent();
		const pts = await page.locator('canvas[data-testid=views-chart]').getAttribute('data-points');
		log(`views: total ${total.trim()}, unique ${unique.trim()}, chart ${pts}`);
		if (!/\d/.test(unique)) throw new Error(`views-unique is "${unique}"`);
	});

	// 6. a thumbnail render (poster, chosen by name): its progress bar completes.
	const renderPng = await step('render', page, async () => {
		await page.evaluate(() => document.querySelector('video[data-testid=player]').pause());
		const sel = page.locator('select[data-testid=render-preset]');
		const opts = await sel.locator('option').evaluateAll((os) => os.map((o) => o.value));
		// A /media upload has no project, so its thumbnail render is the poster rendition
		// (console/README-contract.md); `thumbnail` is offered for a project's asset only.
		const preset = 'poster';
		if (!opts.includes(preset)) throw new Error(`render-preset offers no "${preset}" (it offers ${JSON.stringify(opts)})`);
		const before = await page.locator('[data-testid=render-row]').evaluateAll((rs) => rs.map((r) => r.dataset.jobId));
		await sel.selectOption(preset);
		await page.locator('button[data-testid=render-start]').click();
		const handle = await page.waitForFunction((old) => [...document.querySelectorAll('[data-testid=render-row]')]
			.find((r) => !old.includes(r.dataset.jobId))?.dataset.jobId, before, { timeout: 20000 });
		const job = await handle.jsonValue();
		log(`render job ${job} (${preset}) started`);
		await page.waitForFunction((id) => {
			const r = document.querySelector(`[data-testid=render-row][data-job-id="${id}"]`);
			const s = r?.getAttribute('data-state');
			if (s === 'failed' || s === 'cancelled')
				throw new Error(`job ${id} is ${s}: ${r.querySelector('[data-testid=render-error]')?.textContent}`);
			const p = r?.querySelector('progress[data-testid=render-progress]');
			return s === 'completed' && p && Number(p.value) === 100;
		}, job, { timeout: 120000, polling: 250 });
	});
	if (mediaPng) copyFileSync(renderPng, mediaPng);

	// 7. log out; the library is then closed to this tab.
	await step('logout', page, async () => {
		await page.locator('button[data-testid=logout]').click();
		await hashIs(page, /^#\/login$/);
		await page.evaluate(() => { location.hash = '#/media'; });
		await hashIs(page, /^#\/login$/);
	});

	// The library at 360x740 in a tab of its own: no horizontal overflow.
	const narrow = await context.newPage();
	narrow.setDefaultTimeout(20000);
	await narrow.setViewportSize({ width: 360, height: 740 });
	watch(narrow, 'narrow');
	await step('narrow-library', narrow, async () => {
		await login(narrow, email, password);
		await hashIs(narrow, /^#\/media$/);
		await narrow.locator(`[data-testid=media-card][data-media-id="${mediaId}"][data-status=ready]`).waitFor();
		await narrow.waitForFunction(() => [...document.querySelectorAll('[data-testid=media-card] img')]
			.every((i) => i.complete));
		const w = await narrow.evaluate(() => document.documentElement.scrollWidth);
		if (w > 360) throw new Error(`the library overflows at 360 px: scrollWidth ${w}`);
		log(`narrow library: scrollWidth ${w}`);
	});
	log(`all ${stepNo} steps passed; screenshots in ${artifacts}`);
} catch (e) {
	console.error(`flow.mjs: FAIL: ${e.message.replace(/\x1b\[[0-9;]*m/g, '')}`);
	status = 1;
} finally {
	await context?.close().catch(() => {});
	rmSync(profile, { recursive: true, force: true });
}
process.exit(status);
