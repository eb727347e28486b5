/* media-hooks.c: delivers webhook events from the outbox (webhook_deliveries), N requests at once.
 * One thread, one loop: libcurl's multi poll over the transfers, a signalfd, the LISTEN connection
 * and the resolver threads' wake-up pipe. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "hooks/deliver.h"
#include "hooks/outbox.h"
#include "hooks/payload.h"
#include "hooks/resolve.h"
#include "hooks/sign.h"
#include "hooks/target.h"
#include "store/db.h"
#include "store/listen.h"
#include "util/buf.h"

#define MAX_SLOTS 64
#define DB_PAUSE_S 1.0 /* after a failed database call, no other one for this long */
/* webhook_lease must exceed webhook_timeout by this: an attempt ends (timeout included) and is
 * recorded well before its lease runs out, so no other process sends it meanwhile. */
#define LEASE_MARGIN_S 10
#define ONCE_MAX_TIME_S 50 /* --once: no claim after this many seconds (a cron minute, less slack) */
#define STOP_EXTRA_S 5.0   /* after SIGTERM: past webhook_timeout + this, give the leases back */
/* A delivery whose host has RESOLVE_HOST_ABANDONED_MAX lookups stuck waits this long, uncharged. */
#define RESOLVE_DEFER_S 5

enum phase { PH_RESOLVE, PH_SEND };

struct slot {
	bool busy;
	enum phase phase;
	struct outbox_delivery d;
	char owner[OUTBOX_OWNER_MAX]; /* the claim's lease token: the fence of every write */
	struct buf body;              /* the event's payload, the bytes signed and sent */
	struct target t;
	struct resolve *res; /* PH_RESOLVE */
	struct resolve_addrs addrs;
	struct deliver_xfer x; /* PH_SEND */
	double t0;             /* monotonic start of the attempt */
	/* t0 + webhook_timeout, resolution and transfer together; it leaves the record
	 * OUTBOX_RECORD_MARGIN_S before the lease (taken at the claim) runs out (outbox_deadline) */
	double deadline;
};

struct hooks {
	const struct config *cfg;
	struct db *db;
	struct pg_listen listen; /* LISTEN webhook_deliveries */
	struct deliver dl;
	char name[96];
	uint64_t nonce;            /* drawn at start: in every lease token, so no two processes share one */
	unsigned long long claims; /* numbers each claim's lease token */
	int concurrency;
	bool once;
	bool drained; /* --once: a claim found less than it asked for, or the time is up */
	double once_until;
	bool stopping; /* SIGTERM: no more claims; in-flight attempts finish */
	bool hurry;    /* a second signal, or the stop bound passed: give the leases back now */
	double stop_deadline;
	bool wake; /* claim now: a delivery was announced or a slot came free */
	/* RESOLVE_ABANDONED_MAX lookups are stuck: no claim until one ends (the wake pipe) or the next
	 * poll; a claim would only hand its deliveries back at once, and again, and again. */
	bool resolver_full;
	bool failed;         /* --once met a fault: exit non-zero */
	unsigned long turns; /* of the loop, logged at exit: a loop that spins shows here */
	double db_pause_until;
	int wake_pipe[2]; /* the resolver threads write a byte when a lookup ends */
	struct slot slots[MAX_SLOTS];
};

/* The circuit breaker, as in media-spawner: after a call fails for want of the server, the others
 * wait DB_PAUSE_S, so one turn of the loop never waits on more than one slow call. */
static bool db_usable(const struct hooks *h)
{
	return clock_mono_s() >= h->db_pause_until;
}

static enum merr db_note(struct hooks *h, enum merr err)
{
	if (err == MERR_UNAVAILABLE) {
		h->db_pause_until = clock_mono_s() + DB_PAUSE_S;
		if (h->once)
			h->failed = true;
	}
	return err;
}

static int running(const struct hooks *h)
{
	int i, n = 0;

	for (i = 0; i < h->concurrency; i++)
		n += h->slots[i].busy;
	return n;
}

/* Frees the slot: the lookup let go, the transfer taken out, the payload freed. */
static void slot_free(struct hooks *h, struct slot *sl)
{
	resolve_abandon(sl->res);
	sl->res = NULL;
	deliver_xfer_free(&h->dl, &sl->x);
	buf_free(&sl->body);
	sl->busy = false;
	h->wake = true;
}

/*
 * Records the attempt a of the slot's delivery and its outcome (fenced on the lease token), logs
 * one line for it, and frees the slot. A failed record is logged: the lease runs out and the
 * delivery is sent again (at least once).
 */
static void slot_finish(struct hooks *h, struct slot *sl, struct outbox_attempt *a)
{
	const struct outbox_delivery *d = &sl->d;
	long long retry_s = outbox_backoff_s(d->window_attempt, randombytes_random());
	struct outbox_outcome oc;
	char what[64], next[48], error[OUTBOX_ERROR_MAX + 1];
	enum merr err;

	a->age_s = clock_mono_s() - sl->t0;
	a->latency_ms = (long long)(a->age_s * 1000.0);
	/* The log line shows what is stored: libcurl's words may end mid-character or carry the
	 * receiver's bytes. */
	if (a->error != NULL)
		a->error = outbox_text(a->error, error, sizeof(error));
	if (a->status > 0)
		snprintf(what, sizeof(what), "HTTP %d", a->status);
	else
		snprintf(what, sizeof(what), "no answer");
	err = db_note(h, outbox_record(h->db, d, sl->owner, a, retry_s, h->cfg->webhook_max_age,
	                               h->cfg->webhook_disable_after, &oc));
	if (err != MERR_OK) {
		log_error("delivery %s (%s, endpoint %s) attempt %d: %s in %lld ms, but it could not be "
		          "recorded (%s); its lease will run out and it is sent again",
		          d->id, d->event_type, d->webhook_id, d->attempt, what, a->latency_ms,
		          merr_code(err));
		/* --once: a result not recorded is a failure whatever the reason (db_note counts only
		 * an unavailable database), and this line is the one cron mails. */
		if (h->once) {
			h->failed = true;
			log_once_fail();
		}
	} else if (oc.lost) {
		log_info("delivery %s (%s, endpoint %s) attempt %d: %s in %lld ms; no longer ours (lease "
		         "taken over), not recorded",
		         d->id, d->event_type, d->webhook_id, d->attempt, what, a->latency_ms);
	} else {
		if (strcmp(oc.state, "pending") == 0)
			snprintf(next, sizeof(next), "retry in %lld s", retry_s);
		else
			snprintf(next, sizeof(next), "%s", oc.state);
		log_info("delivery %s (%s, endpoint %s) attempt %d: %s%s%s in %lld ms; %s%s", d->id,
		         d->event_type, d->webhook_id, oc.attempts, what, a->error ? ": " : "",
		         a->error ? a->error : "", a->latency_ms, next,
		         oc.disabled ? "; the endpoint is now disabled (webhook_disable_after)" : "");
	}
	slot_free(h, sl);
}

/* An attempt that made no connection (bad URL, blocked address, no name): recorded with why. ours:
 * the fault is ours (no payload, no thread), not the endpoint's: its failures in a row stay. */
static void slot_refuse(struct hooks *h, struct slot *sl, const char *why, bool ours)
{
	struct outbox_attempt a = { .ok = false, .ours = ours, .error = why };

	slot_finish(h, sl, &a);
}

/* Gives the slot's delivery back unsent and uncharged: due at once (stopping, no resolver thread
 * free, too little lease left), or in defer_s seconds (its host's lookups are stuck). */
static void slot_release(struct hooks *h, struct slot *sl, const char *why, long long defer_s)
{
	if (db_usable(h) && db_note(h, outbox_release(h->db, &sl->d, sl->owner, defer_s)) != MERR_OK)
		log_error("delivery %s: could not be handed back; its lease will run out", sl->d.id);
	if (defer_s > 0)
		log_info("delivery %s: put off %lld s, unsent and uncharged (%s)", sl->d.id, defer_s, why);
	else
		log_info("delivery %s: released unsent (%s)", sl->d.id, why);
	slot_free(h, sl);
}

/*
 * Starts an attempt at a delivery claimed at claimed_at (monotonic, read before the claim): its
 * payload, its URL, then the lookup of its host. The attempt's deadline is set once the payload is
 * there, and only if the lease leaves room for the whole attempt and its record; if not (the
 * payloads of the slots before it took long) the delivery is given back unsent.
 */
static void slot_start(struct hooks *h, struct slot *sl, const struct outbox_delivery *d, const char *owner,
                       double claimed_at)
{
	char why[OUTBOX_ERROR_MAX + 1];
	enum merr err;

	memset(sl, 0, sizeof(*sl));
	buf_init(&sl->body);
	sl->busy = true;
	sl->d = *d;
	snprintf(sl->owner, sizeof(sl->owner), "%s", owner);
	err = db_note(h, payload_get(h->db, d->event_id, &sl->body));
	if (err == MERR_UNAVAILABLE) {
		log_error("delivery %s: the event's payload cannot be read now; its lease will run out",
		          d->id);
		slot_free(h, sl);
		return;
	}
	sl->t0 = clock_mono_s();
	sl->deadline = outbox_deadline(claimed_at, h->cfg->webhook_lease, h->cfg->webhook_timeout, sl->t0);
	if (sl->deadline < 0) {
		slot_release(h, sl, "too little of its lease is left for an attempt", 0);
		return;
	}
	if (err != MERR_OK) {
		snprintf(why, sizeof(why), "the event's payload cannot be built (%s)", merr_code(err));
		slot_refuse(h, sl, why, true);
		return;
	}
	if (target_parse(d->url, &sl->t, why, sizeof(why)) != 0) {
		slot_refuse(h, sl, why, false);
		return;
	}
	sl->res = resolve_start(sl->t.host, h->wake_pipe[1]);
	if (sl->res == NULL && errno == EBUSY) {
		slot_release(h, sl, "earlier lookups of its host name are stuck", RESOLVE_DEFER_S);
		return;
	}
	if (sl->res == NULL && errno == EAGAIN) {
		h->resolver_full = true;
		slot_release(h, sl, "too many host name lookups are stuck, or no thread is to be had", 0);
		return;
	}
	if (sl->res == NULL) {
		snprintf(why, sizeof(why), "cannot look up %.300s: %s", sl->t.host, strerror(errno));
		slot_refuse(h, sl, why, errno != ENAMETOOLONG);
		return;
	}
	sl->phase = PH_RESOLVE;
}

/* The lookup ended (or its time is up): check every address, then send to them and no other. */
static void slot_resolved(struct hooks *h, struct slot *sl, bool timed_out)
{
	char why[OUTBOX_ERROR_MAX + 1], gai[256], sig[SIGN_HEADER_MAX];
	struct deliver_req q;
	long remain_ms;

	if (timed_out) {
		snprintf(why, sizeof(why), "could not look up %.300s within webhook_timeout (%lld s)",
		         sl->t.host, h->cfg->webhook_timeout);
		slot_refuse(h, sl, why, false);
		return;
	}
	if (resolve_result(sl->res, &sl->addrs, gai, sizeof(gai)) != 0) {
		snprintf(why, sizeof(why), "cannot resolve %.300s: %s", sl->t.host, gai);
		slot_refuse(h, sl, why, false);
		return;
	}
	resolve_abandon(sl->res);
	sl->res = NULL;
	if (target_check(&sl->addrs, h->cfg->webhook_allow_private, why, sizeof(why)) != 0) {
		slot_refuse(h, sl, why, false);
		return;
	}
	if (sign_header(sl->d.secret, strlen(sl->d.secret), (long long)time(NULL), sl->body.data,
	                sl->body.len, sig, sizeof(sig)) != 0) {
		slot_refuse(h, sl, "cannot sign the request", true);
		return;
	}
	remain_ms = (long)((sl->deadline - clock_mono_s()) * 1000.0);
	q = (struct deliver_req){
		.url = sl->d.url,
		.body = sl->body.data,
		.body_len = sl->body.len,
		.event_id = sl->d.event_id,
		.signature = sig,
		.target = &sl->t,
		.addrs = &sl->addrs,
		.timeout_ms = remain_ms < 1 ? 1 : remain_ms,
	};
	if (deliver_start(&h->dl, &sl->x, &q, why, sizeof(why)) != 0) {
		slot_refuse(h, sl, why, true);
		return;
	}
	sl->phase = PH_SEND;
}

/* A transfer ended: its answer is the attempt's outcome. */
static void slot_sent(struct hooks *h, struct slot *sl)
{
	struct outbox_attempt a = {
		.ok = deliver_ok(&sl->x),
		.status = sl->x.status,
		.error = sl->x.error[0] != '\0' ? sl->x.error : NULL,
		.body = sl->x.status > 0 ? sl->x.body : NULL,
	};

	slot_finish(h, sl, &a);
}

/* Fails what is past webhook_max_age, then claims what is due, as many as there are free slots. */
static void claim_due(struct hooks *h)
{
	struct outbox_delivery ds[MAX_SLOTS];
	char owner[OUTBOX_OWNER_MAX];
	int i, k = 0, n = 0, free_slots = h->concurrency - running(h), expired;
	double claimed_at;
	enum merr err;

	if (free_slots == 0 || !db_usable(h))
		return;
	if (resolve_saturated()) {
		h->resolver_full = true;
		return;
	}
	expired = outbox_expire(h->db, h->cfg->webhook_max_age);
	if (expired < 0) {
		(void)db_note(h, MERR_UNAVAILABLE);
		log_error("expire: the database is unavailable");
		if (h->once)
			h->drained = true; /* fail now, not after ONCE_MAX_TIME_S of retries */
		return;
	}
	if (expired > 0)
		log_info("%d delivery(ies) not delivered within webhook_max_age (%lld s): failed", expired,
		         h->cfg->webhook_max_age);
	/* A token of this claim's own: a delivery claimed again, by us too, gets a new one. */
	outbox_owner(owner, sizeof(owner), h->name, h->nonce, ++h->claims);
	/* Before the statement: the leases end webhook_lease after its start, so after this. */
	claimed_at = clock_mono_s();
	err = db_note(h, outbox_claim(h->db, owner, h->cfg->webhook_lease, free_slots, ds, &n));
	if (err != MERR_OK) {
		log_error("claim: %s", merr_code(err));
		h->failed = true;
		if (h->once)
			h->drained = true;
		return;
	}
	if (n < free_slots && h->once)
		h->drained = true; /* nothing else is due: finish what runs, then exit */
	for (i = 0; i < h->concurrency && k < n; i++)
		if (!h->slots[i].busy)
			slot_start(h, &h->slots[i], &ds[k++], owner, claimed_at);
}

/* Drains the resolver's pipe and moves on every lookup that ended or ran out of time. A byte in
 * the pipe is a lookup that ended, abandoned or not: a thread came free for the claims. */
static void resolutions_tick(struct hooks *h, double now)
{
	char junk[64];
	bool ended = false;
	int i;

	while (read(h->wake_pipe[0], junk, sizeof(junk)) > 0)
		ended = true;
	if (ended && h->resolver_full) {
		h->resolver_full = false;
		h->wake = true;
	}
	for (i = 0; i < h->concurrency; i++) {
		struct slot *sl = &h->slots[i];

		if (!sl->busy || sl->phase != PH_RESOLVE)
			continue;
		if (resolve_done(sl->res))
			slot_resolved(h, sl, false);
		else if (now >= sl->deadline)
			slot_resolved(h, sl, true);
	}
}

/* Every transfer that ended since the last turn. */
static void transfers_tick(struct hooks *h)
{
	struct deliver_xfer *x;
	int i;

	while ((x = deliver_next_done(&h->dl)) != NULL)
		for (i = 0; i < h->concurrency; i++)
			if (h->slots[i].busy && h->slots[i].phase == PH_SEND && &h->slots[i].x == x) {
				slot_sent(h, &h->slots[i]);
				break;
			}
}

static void on_notify_one(const char *channel, const char *extra, void *ud)
{
	struct hooks *h = ud;

	(void)channel;
	(void)extra;
	h->wake = true;
}

static void on_signal(struct hooks *h, int sfd, double now)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo != SIGTERM && si.ssi_signo != SIGINT)
			continue;
		if (h->stopping) {
			h->hurry = true;
			continue;
		}
		h->stopping = true;
		h->stop_deadline = now + (double)h->cfg->webhook_timeout + STOP_EXTRA_S;
		log_info(
		        "stopping: %d attempt(s) in flight finish (at most webhook_timeout, %lld s); a second "
		        "signal hands them back now",
		        running(h), h->cfg->webhook_timeout);
	}
}

/* The poll timeout: the next poll (none once stopping or drained: no claim comes after them), the
 * nearest deadline of a lookup, at most a second. A transfer's deadline is libcurl's own
 * (CURLOPT_TIMEOUT_MS): curl_multi_poll wakes for it. */
static int wait_ms(const struct hooks *h, double now, double next_poll)
{
	double until = h->stopping ? h->stop_deadline : h->drained ? now + 1.0 : next_poll;
	int i;

	for (i = 0; i < h->concurrency; i++)
		if (h->slots[i].busy && h->slots[i].phase == PH_RESOLVE && h->slots[i].deadline < until)
			until = h->slots[i].deadline;
	if (until <= now)
		return 0;
	return until - now > 1.0 ? 1000 : (int)((until - now) * 1000.0) + 1;
}

static int run(struct hooks *h)
{
	struct curl_waitfd extra[3];
	sigset_t set;
	double next_poll = 0, now;
	int sfd, i;
	unsigned n;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		log_error("signalfd: %s", strerror(errno));
		return 1;
	}
	for (;;) {
		h->turns++;
		now = clock_mono_s();
		if (h->once && now >= h->once_until)
			h->drained = true;
		if (!h->stopping && !h->drained && ((h->wake && !h->resolver_full) || now >= next_poll)) {
			h->wake = false;
			next_poll = now + (double)h->cfg->webhook_poll_interval;
			claim_due(h);
		}
		if (h->stopping && now >= h->stop_deadline)
			h->hurry = true;
		if (h->hurry)
			for (i = 0; i < h->concurrency; i++)
				if (h->slots[i].busy)
					slot_release(h, &h->slots[i], "media-hooks is stopping", 0);
		if (running(h) == 0 && (h->stopping || (h->once && h->drained)))
			break;
		/* A wake-up that cannot be acted on is dropped, or the wait below would not wait (a slot
		 * freed while stopping or drained, or while the resolver is full, sets it): the
		 * resolver's pipe sets it again when a lookup ends. */
		if (h->stopping || h->drained || h->resolver_full)
			h->wake = false;
		if (!h->once)
			listen_ensure(&h->listen, h->cfg, clock_mono_s(), db_usable(h));
		n = 0;
		extra[n++] = (struct curl_waitfd){ .fd = sfd, .events = CURL_WAIT_POLLIN };
		extra[n++] = (struct curl_waitfd){ .fd = h->wake_pipe[0], .events = CURL_WAIT_POLLIN };
		if (listen_fd(&h->listen) >= 0)
			extra[n++] = (struct curl_waitfd){ .fd = listen_fd(&h->listen),
				                           .events = CURL_WAIT_POLLIN };
		if (deliver_wait(&h->dl, extra, n, h->wake ? 0 : wait_ms(h, clock_mono_s(), next_poll)) !=
		    0) {
			close(sfd);
			return 1;
		}
		now = clock_mono_s();
		if (extra[0].revents != 0)
			on_signal(h, sfd, now);
		if (n == 3 && extra[2].revents != 0)
			listen_drain(&h->listen, on_notify_one, h);
		resolutions_tick(h, now);
		transfers_tick(h);
	}
	close(sfd);
	log_info("exiting after %lu turn(s) of the loop", h->turns);
	return h->once && h->failed ? 1 : 0;
}

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: media-hooks [--once [--max-time S]] [--concurrency N] [--name NAME]\n"
	        "  --once           deliver what is due, then exit (for cron)\n"
	        "  --max-time S     with --once: claim nothing after S seconds (default %d)\n"
	        "  --concurrency N  requests in flight at once (default: webhook_concurrency)\n"
	        "  --name NAME      this process's name in delivery leases (default host:pid)\n"
	        "Settings come from $MEDIAD_CONFIG (default " MEDIAD_SYSCONFDIR "/mediad.conf) and the "
	        "environment; see media-hooks(8).\n",
	        ONCE_MAX_TIME_S);
}

/* A number option from 1 to max, or -1. */
static long opt_number(const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	return errno != 0 || *end != '\0' || v < 1 || v > max ? -1 : v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "once", no_argument, NULL, 'o' },
		{ "max-time", required_argument, NULL, 't' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "name", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct hooks h = { .wake = true, .wake_pipe = { -1, -1 } };
	struct config cfg;
	char err[512], host[64];
	const char *name = NULL;
	long conc = -1, max_time = ONCE_MAX_TIME_S;
	int c, rc = 1;
	bool curl_up = false;

	log_init("media-hooks");
	while ((c = getopt_long(argc, argv, "ot:c:n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			h.once = true;
			break;
		case 't':
			max_time = opt_number(optarg, 86400);
			if (max_time < 0) {
				fprintf(stderr, "media-hooks: --max-time must be 1 to 86400\n");
				return 2;
			}
			break;
		case 'c':
			conc = opt_number(optarg, MAX_SLOTS);
			if (conc < 0) {
				fprintf(stderr, "media-hooks: --concurrency must be 1 to %d\n", MAX_SLOTS);
				return 2;
			}
			break;
		case 'n':
			name = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "media-hooks: libsodium failed to initialise\n");
		return 1;
	}
	/* A receiver that closes early is an error of that transfer, not a signal that ends us:
	 * libcurl's own guard (MSG_NOSIGNAL) does not cover every TLS back end. */
	signal(SIGPIPE, SIG_IGN);
	randombytes_buf(&h.nonce, sizeof(h.nonce));
	if (config_load(&cfg, CONFIG_NEED_DB, err, sizeof(err)) != 0) {
		fprintf(stderr, "media-hooks: configuration: %s\n", err);
		config_free(&cfg);
		return 78;
	}
	if (cfg.webhook_lease < cfg.webhook_timeout + LEASE_MARGIN_S) {
		fprintf(stderr,
		        "media-hooks: configuration: webhook_lease (%lld s) must be at least webhook_timeout "
		        "(%lld s) + %d s\n",
		        cfg.webhook_lease, cfg.webhook_timeout, LEASE_MARGIN_S);
		config_free(&cfg);
		return 78;
	}
	h.cfg = &cfg;
	h.listen.app = "media-hooks";
	h.listen.sql = "LISTEN webhook_deliveries";
	h.listen.poll_s = cfg.webhook_poll_interval;
	h.concurrency = (int)(conc > 0 ? conc : cfg.webhook_concurrency);
	h.once_until = clock_mono_s() + (double)max_time;
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	if (name != NULL)
		snprintf(h.name, sizeof(h.name), "%.80s", name);
	else
		snprintf(h.name, sizeof(h.name), "%.60s:%ld", host, (long)getpid());
	/* From cron: the log goes to stdout (the crontab's log file), one line on stderr on failure. */
	if (h.once)
		log_once_begin();
	if (pipe2(h.wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		log_error("pipe: %s", strerror(errno));
		goto out;
	}
	if (deliver_init(&h.dl) != 0) {
		log_error("libcurl cannot be initialised");
		goto out;
	}
	curl_up = true;
	h.db = db_open(&cfg, outbox_statements, outbox_statements_count);
	if (h.db == NULL)
		goto out;
	log_info("%s: %d request(s) at once%s%s", h.name, h.concurrency, h.once ? ", once" : "",
	         cfg.webhook_allow_private ? ", private addresses allowed (webhook_allow_private)" : "");
	rc = run(&h);
out:
	for (c = 0; c < h.concurrency; c++)
		if (h.slots[c].busy)
			slot_free(&h, &h.slots[c]);
	listen_close(&h.listen);
	if (curl_up)
		deliver_free(&h.dl);
	db_free(h.db);
	/* The pipe stays open: a resolver thread still running may write to it until we exit. */
	config_free(&cfg);
	return h.once ? log_once_end(rc) : rc;
}
