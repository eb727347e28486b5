/* hls-test.js: the player of hls.html. Plays ?src= with hls.js in the page's <video> (muted, so
 * that it may start without a user gesture): first at the lowest variant until playback is under
 * way, then every other variant in turn (each switch flushes the buffer and loads that variant's
 * playlist, init segment and media segments), then a seek to a later position, after which
 * playback must go on. Every wait has a bound; a fatal hls.js error ends the run at once. What it
 * saw goes into #result as JSON, then #result gets data-done="1" (cdp-run.py waits for it); the
 * checks are in check-hls.py, not here. */
"use strict";

const out = {
	origin: location.origin,
	src: new URLSearchParams(location.search).get("src"),
	hlsVersion: null,
	supported: null,
	levels: null,      // from MANIFEST_PARSED: one entry per variant
	levelsLoaded: [],  // LEVEL_LOADED: { level, fragments, duration }
	frags: [],         // FRAG_LOADED: { level, sn ("initSegment" for an init segment), url }
	buffered: [],      // FRAG_BUFFERED: { level, sn }
	switched: [],      // LEVEL_SWITCHED: level
	errors: [],        // every hls.js ERROR event
	steps: {},
	done: false
};
let fatal = null;

const video = document.getElementById("video");
const sleep = ms => new Promise(r => setTimeout(r, ms));

function ranges(tr) {
	const r = [];
	for (let i = 0; i < tr.length; i++)
		r.push([Math.round(tr.start(i) * 1000) / 1000, Math.round(tr.end(i) * 1000) / 1000]);
	return r;
}

function state() {
	return { currentTime: video.currentTime, readyState: video.readyState, paused: video.paused,
		ended: video.ended, seeking: video.seeking, duration: video.duration, buffered: ranges(video.buffered),
		videoError: video.error ? video.error.code : null };
}

/* until WHAT COND MS: resolves once COND() holds (checked every 50 ms); rejects after MS, or as soon
 * as hls.js reported a fatal error. */
async function until(what, cond, ms) {
	const end = performance.now() + ms;
	for (;;) {
		if (fatal)
			throw new Error("hls.js fatal error while waiting for " + what + ": " + fatal);
		if (cond())
			return;
		if (performance.now() > end)
			throw new Error("timed out after " + ms + " ms waiting for " + what);
		await sleep(50);
	}
}

const bufferedAt = level => out.buffered.some(f => f.level === level && typeof f.sn === "number");

async function main() {
	if (typeof Hls === "undefined")
		throw new Error("hls.js did not load: no global Hls");
	out.hlsVersion = Hls.version;
	out.supported = Hls.isSupported();
	if (!out.supported)
		throw new Error("Hls.isSupported() is false: no Media Source Extensions for this content");

	const hls = new Hls({ startLevel: 0, capLevelToPlayerSize: false, debug: false });
	window.hls = hls;
	hls.on(Hls.Events.ERROR, (ev, d) => {
		const e = { type: d.type, details: d.details, fatal: !!d.fatal,
			code: d.response && d.response.code !== undefined ? d.response.code : null,
			url: d.url || (d.frag && d.frag.url) || (d.context && d.context.url) || null,
			reason: d.reason || (d.error ? String(d.error) : null) };
		out.errors.push(e);
		if (e.fatal && !fatal)
			fatal = e.details + (e.code !== null ? " (HTTP " + e.code + ")" : "") + (e.url ? " " + e.url : "");
	});
	hls.on(Hls.Events.MANIFEST_PARSED, (ev, d) => {
		out.levels = d.levels.map(l => ({ width: l.width, height: l.height, bitrate: l.bitrate,
			codecs: l.attrs ? l.attrs.CODECS : null }));
	});
	hls.on(Hls.Events.LEVEL_LOADED, (ev, d) => {
		out.levelsLoaded.push({ level: d.level, fragments: d.details.fragments.length,
			duration: d.details.totalduration });
	});
	hls.on(Hls.Events.FRAG_LOADED, (ev, d) => {
		out.frags.push({ level: d.frag.level, sn: d.frag.sn, url: d.frag.url });
	});
	hls.on(Hls.Events.FRAG_BUFFERED, (ev, d) => {
		out.buffered.push({ level: d.frag.level, sn: d.frag.sn });
	});
	hls.on(Hls.Events.LEVEL_SWITCHED, (ev, d) => { out.switched.push(d.level); });

	hls.loadSource(out.src);
	hls.attachMedia(video);
	await until("the master playlist (MANIFEST_PARSED)", () => out.levels !== null, 20000);
	out.steps.manifest = { levels: hls.levels.length };

	/* Started: enough data to play on (HAVE_FUTURE_DATA) and the clock moving. */
	out.steps.play = await video.play().then(() => "ok", e => String(e));
	await until("playback to start (readyState >= 3, currentTime > 0.2)",
		() => video.readyState >= 3 && video.currentTime > 0.2, 30000);
	out.steps.started = state();
	const t0 = video.currentTime;
	await sleep(1500);
	out.steps.advance = { from: t0, to: video.currentTime, readyState: video.readyState };

	/* Every other variant: paused, so that the clip does not end meanwhile; an immediate switch
	 * (currentLevel) drops what is buffered and loads the variant's own segments. */
	video.pause();
	out.steps.switches = [];
	for (let i = 1; i < hls.levels.length; i++) {
		hls.currentLevel = i;
		await until("a media segment of variant " + i + " to be buffered", () => bufferedAt(i), 20000);
		out.steps.switches.push({ level: i, at: state() });
	}

	/* A seek forward, to 60 % of the clip (at least 1.5 s before its end), then playback goes on. */
	const duration = video.duration;
	const target = Math.max(0, Math.min(duration * 0.6, duration - 1.5));
	let seeked = false;
	video.addEventListener("seeked", () => { seeked = true; }, { once: true });
	video.currentTime = target;
	await until("the seek to " + target.toFixed(2) + " s to complete", () => seeked && !video.seeking, 15000);
	const after = video.currentTime;
	out.steps.seek = { target: target, duration: duration, after: after, state: state() };
	out.steps.play2 = await video.play().then(() => "ok", e => String(e));
	await until("playback to go on after the seek", () => video.currentTime > after + 0.5, 15000);
	out.steps.resumed = state();
}

main().catch(e => { out.fatal = String(e && e.message ? e.message : e); }).finally(() => {
	out.final = state();
	if (window.hls) {
		out.levelCount = window.hls.levels ? window.hls.levels.length : null;
		window.hls.destroy();
	}
	out.done = true;
	const r = document.getElementById("result");
	r.textContent = JSON.stringify(out);
	r.dataset.done = "1";
});
