/* mediad.c: the FastCGI responder: spawned by a web server on fd 0, or a pre-fork pool of its own. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <fcgiapp.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/dispatch.h"
#include "app.h"
#include "auth/password.h"
#include "core/config.h"
#include "core/log.h"
#include "http/clientip.h"
#include "http/cors.h"
#include "http/fcgi_io.h"
#include "store/db.h"
#include "store/kv.h"
#include "store/files.h"
#include "store/statements.h"

#define MEDIAD_MAX_WORKERS 256
/* Places in the pool: --workers on --listen, plus --upload-workers on --upload-listen. */
#define MEDIAD_MAX_PLACES (2 * MEDIAD_MAX_WORKERS)
#define MEDIAD_BACKLOG 1024

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
	/* libfcgi's accept loop retries on EINTR unless a shutdown is pending: this makes a worker
	 * blocked in accept return, while one in the middle of a request finishes it first. */
	FCGX_ShutdownPending();
}

static void install_stop_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: a blocked accept must be interrupted */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL); /* lighttpd and mod_fcgid may ask for a graceful stop this way */
}

/* Serves requests on listen_fd until asked to stop. Returns the process exit code. */
static struct cidr_list trusted_proxies;

#define NEED_ALL (CONFIG_NEED_DB | CONFIG_NEED_JWT | CONFIG_NEED_MEDIA)

/*
 * Loads and checks everything a worker needs before any is started: the settings, the trusted
 * proxy list, the CORS origins, a parsable redis_url (or none: empty runs without Redis), and the
 * media folders (made if missing). procs: how many processes serve (the pool's workers), 0 when
 * the web server spawns them and only it knows; said in the warning about an empty redis_url.
 * Returns 0, or -1 with one line in err. cfg must be freed with config_free either way.
 */
static int startup_load(struct config *cfg, struct cidr_list *trusted, int procs, char *err, size_t errlen)
{
	char sub[FILES_PATH_MAX];
	struct kv *probe;
	const char *dirs[] = { "", "/uploads", "/outputs" };
	size_t i;

	if (config_load(cfg, NEED_ALL, err, errlen) != 0)
		return -1;
	if (clientip_parse_trusted(cfg->trusted_proxies, trusted, sub, sizeof(sub)) != 0) {
		snprintf(err, errlen, "trusted_proxies: %.400s", sub);
		return -1;
	}
	if (cors_check_origins(cfg->cors_origins, sub, sizeof(sub)) != 0) {
		snprintf(err, errlen, "cors_origins: %.400s", sub);
		return -1;
	}
	probe = kv_new(cfg->redis_url, (int)cfg->redis_timeout_ms, sub, sizeof(sub));
	if (probe == NULL) {
		snprintf(err, errlen, "%.400s", sub);
		return -1;
	}
	/* Redis 7 is required (EXPIRE ... NX): an older one refuses the start. One that cannot be
	 * reached does not: mediad runs without it (degraded) and uses it once it answers, if it is
	 * recent enough then. */
	switch (kv_check(probe, sub, sizeof(sub))) {
	case KV_PROBE_OK:
		break;
	case KV_PROBE_TOO_OLD:
		snprintf(err, errlen, "redis_url: %.300s (EXPIRE ... NX)", sub);
		kv_free(probe);
		return -1;
	case KV_PROBE_DOWN:
		log_error("start-up: Redis cannot be reached (%.300s): serving without it (degraded) "
		          "until it is back",
		          sub);
		break;
	case KV_PROBE_OFF:
		/* Said once here, never per request: kv tries nothing. A warning: each process counts
		 * the rate limits on its own, so a client gets up to that many times each one. */
		if (procs > 0)
			log_warn(
			        "start-up: redis_url is empty: running without Redis: the rate limits are "
			        "counted by each of the %d worker processes on its own, so a client may get up "
			        "to %d times each limit through; the account lock and revocations are kept in "
			        "PostgreSQL; no analytics cache",
			        procs, procs);
		else
			log_warn(
			        "start-up: redis_url is empty: running without Redis: the rate limits are "
			        "counted by each process the web server runs on its own (lighttpd max-procs, "
			        "mod_fcgid FcgidMaxProcesses), so a client may get that many times each limit "
			        "through; the account lock and revocations are kept in PostgreSQL; no analytics "
			        "cache");
		break;
	}
	kv_free(probe);
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(sub, sizeof(sub), "%s%s", cfg->media_root, dirs[i]);
		if (mkdir(sub, 0750) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "media_root: cannot create %.300s: %s", sub, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int worker_run(const struct config *cfg, int listen_fd)
{
	struct app app = { cfg, &trusted_proxies, NULL, NULL, { 0 } };
	FCGX_Request fr;
	struct http_io io;
	char err[256];
	int rc = 1;

	install_stop_handler();
	/* A hang-up of the terminal or the master's reload signal is not a reason to drop requests. */
	signal(SIGHUP, SIG_IGN);
	/* The stream-link key is a separate setting or derived from the JWT secret: never equal to it. */
	if ((cfg->stream_key != NULL && cfg->stream_key[0] != '\0') ?
	            signlink_key_from_setting(cfg->stream_key, app.stream_key) != 0 :
	            signlink_derive_key(cfg->jwt_secret, app.stream_key) != 0) {
		log_error("start-up: cannot make the stream-link key");
		goto out;
	}
	app.db = db_open(cfg, store_statements, store_statements_count);
	app.kv = kv_new(cfg->redis_url, (int)cfg->redis_timeout_ms, err, sizeof(err));
	if (app.db == NULL || app.kv == NULL) {
		log_error("start-up: %s", app.kv == NULL ? err : "out of memory");
		goto out;
	}
	/* Connect now so the first request does not pay for it; a database that is down is not
	 * fatal: requests answer 503 until it is back. */
	if (db_ensure(app.db) != 0)
		log_error("start-up: PostgreSQL unreachable; answering 503 until it is back");
	password_init();
	if (FCGX_InitRequest(&fr, listen_fd, 0) != 0) {
		log_error("start-up: FCGX_InitRequest failed");
		goto out;
	}
	fcgi_io_init(&io, &fr);
	while (!stop_requested) {
		if (FCGX_Accept_r(&fr) < 0)
			break;
		dispatch_request(&app, &io);
		FCGX_Finish_r(&fr);
	}
	FCGX_Free(&fr, 0);
	rc = 0;
out:
	sodium_memzero(app.stream_key, sizeof(app.stream_key));
	db_free(app.db);
	kv_free(app.kv);
	return rc;
}

static pid_t spawn_worker(const struct config *cfg, int listen_fd, const sigset_t *unblock)
{
	pid_t pid = fork();

	if (pid == 0) {
		int rc;

		sigprocmask(SIG_UNBLOCK, unblock, NULL);
		rc = worker_run(cfg, listen_fd);
		_exit(rc);
	}
	if (pid < 0)
		log_error("fork: %s", strerror(errno));
	return pid;
}

/*
 * The pre-fork master: keeps n workers alive, the one of place i accepting on place_fd[i] (the
 * --listen socket, or the --upload-listen one), and restarts any that dies; on SIGTERM or SIGINT it
 * passes SIGTERM on (each worker finishes its request in flight) and waits for all of them. On
 * SIGHUP it re-reads the settings and, if they are valid, replaces the workers one request at a
 * time (each finishes what it has, then a new one starts with the new settings); invalid settings
 * are logged and the running workers stay. Signals are blocked and taken with sigtimedwait, so
 * none is lost between checks.
 */
static int master_run(struct config *cfg, const int *place_fd, int n)
{
	pid_t pids[MEDIAD_MAX_PLACES];
	time_t started[MEDIAD_MAX_PLACES];
	struct timespec tick = { 1, 0 };
	sigset_t set;
	bool stopping = false;
	int i, alive = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (i = 0; i < n; i++) {
		pids[i] = spawn_worker(cfg, place_fd[i], &set);
		started[i] = time(NULL);
		if (pids[i] > 0)
			alive++;
	}
	log_info("master: %d workers", alive);
	while (alive > 0 || (!stopping && n > 0)) {
		int sig = sigtimedwait(&set, NULL, &tick);
		int status;
		pid_t pid;

		if (sig == SIGHUP && !stopping) {
			struct config fresh;
			struct cidr_list fresh_trusted;
			char err[512];

			if (startup_load(&fresh, &fresh_trusted, n, err, sizeof(err)) != 0) {
				log_error("master: reload refused, keeping the running settings: %s", err);
				config_free(&fresh);
			} else {
				config_free(cfg);
				*cfg = fresh;
				trusted_proxies = fresh_trusted;
				log_info("master: settings reloaded; replacing %d workers", alive);
				for (i = 0; i < n; i++)
					if (pids[i] > 0)
						kill(pids[i], SIGTERM);
			}
		}
		if ((sig == SIGTERM || sig == SIGINT) && !stopping) {
			stopping = true;
			log_info("master: stopping %d workers", alive);
			for (i = 0; i < n; i++)
				if (pids[i] > 0)
					kill(pids[i], SIGTERM);
		}
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			for (i = 0; i < n && pids[i] != pid; i++)
				;
			if (i == n)
				continue;
			if (WIFSIGNALED(status))
				log_error("master: worker %ld killed by signal %d", (long)pid,
				          WTERMSIG(status));
			else if (WEXITSTATUS(status) != 0 || !stopping)
				log_info("master: worker %ld exited with %d", (long)pid, WEXITSTATUS(status));
			pids[i] = -1;
			alive--;
		}
		if (stopping)
			continue;
		for (i = 0; i < n; i++) {
			/* A worker that dies at once (database rejecting us, say) is restarted at most once
			 * a second, not in a tight fork loop. */
			if (pids[i] > 0 || time(NULL) - started[i] < 1)
				continue;
			pids[i] = spawn_worker(cfg, place_fd[i], &set);
			started[i] = time(NULL);
			if (pids[i] > 0)
				alive++;
		}
	}
	log_info("master: all workers stopped");
	return 0;
}

static int open_listener(const char *spec, const char *group)
{
	const char *path = spec;
	struct group *gr = NULL;
	int fd;

	/* "unix:/run/mediad.sock" or a bare absolute path is a unix socket; "host:port" is TCP. */
	if (strncmp(spec, "unix:", 5) == 0)
		path = spec + 5;
	if (path[0] == '/') {
		if (unlink(path) != 0 && errno != ENOENT) {
			fprintf(stderr, "mediad: --listen %s: cannot remove the old socket: %s\n", spec,
			        strerror(errno));
			return -1;
		}
	} else if (strchr(path, ':') == NULL) {
		fprintf(stderr, "mediad: --listen must be unix:/path.sock or host:port (got \"%s\")\n", spec);
		return -1;
	}
	fd = FCGX_OpenSocket(path, MEDIAD_BACKLOG);
	if (fd < 0) {
		fprintf(stderr, "mediad: --listen %s: cannot listen: %s\n", spec, strerror(errno));
		return -1;
	}
	if (path[0] != '/')
		return fd;
	/* Owner and group only: the web server runs as our user, or is in listen_group. */
	if (group != NULL && group[0] != '\0') {
		gr = getgrnam(group);
		if (gr == NULL || chown(path, (uid_t)-1, gr->gr_gid) != 0) {
			fprintf(stderr, "mediad: --listen %s: cannot give the socket to group %s: %s\n", spec,
			        group, gr == NULL ? "no such group" : strerror(errno));
			close(fd);
			return -1;
		}
	}
	if (chmod(path, 0660) != 0) {
		fprintf(stderr, "mediad: chmod %s: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: mediad [--listen unix:/path.sock|HOST:PORT] [--workers N]\n"
	             "              [--upload-listen unix:/path.sock|HOST:PORT] [--upload-workers N]\n"
	             "       spawned by a web server, mediad serves the socket it is given on fd 0.\n"
	             "       Settings come from $MEDIAD_CONFIG (default " MEDIAD_SYSCONFDIR "/mediad.conf)\n"
	             "       and the environment; see mediad(8).\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "workers", required_argument, NULL, 'w' },
		{ "upload-listen", required_argument, NULL, 'L' },
		{ "upload-workers", required_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct config cfg;
	const char *listen_spec = NULL, *upload_spec = NULL;
	long workers = sysconf(_SC_NPROCESSORS_ONLN), upload_workers = 2;
	int place_fd[MEDIAD_MAX_PLACES];
	char err[512], *end;
	struct stat st;
	int c, fd, upload_fd = -1, rc, i;

	log_init("mediad");
	if (sodium_init() < 0) {
		fprintf(stderr, "mediad: libsodium failed to initialise\n");
		return 1;
	}
	while ((c = getopt_long(argc, argv, "l:w:L:W:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			listen_spec = optarg;
			break;
		case 'w':
			errno = 0;
			workers = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || workers < 1 || workers > MEDIAD_MAX_WORKERS) {
				fprintf(stderr, "mediad: --workers must be 1 to %d\n", MEDIAD_MAX_WORKERS);
				return 2;
			}
			break;
		case 'L':
			upload_spec = optarg;
			break;
		case 'W':
			errno = 0;
			upload_workers = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || upload_workers < 1 ||
			    upload_workers > MEDIAD_MAX_WORKERS) {
				fprintf(stderr, "mediad: --upload-workers must be 1 to %d\n",
				        MEDIAD_MAX_WORKERS);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("mediad %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || (upload_spec != NULL && listen_spec == NULL)) {
		usage(stderr);
		return 2;
	}
	if (workers < 1)
		workers = 1;
#ifdef MEDIAD_TEST_ROUTES
	/* A test build answers /_test/... routes (sleep, echo): it must never serve by mistake. */
	if (getenv("MEDIAD_TEST_ROUTES") == NULL || strcmp(getenv("MEDIAD_TEST_ROUTES"), "1") != 0) {
		fprintf(stderr,
		        "mediad: this build has the test-only routes (--enable-test-routes); it runs only "
		        "with MEDIAD_TEST_ROUTES=1, for tests. Build without that option to serve.\n");
		return 78; /* EX_CONFIG */
	}
#endif
	/* With --listen we run the pool and know its size; spawned by the web server we do not. */
	if (startup_load(&cfg, &trusted_proxies,
	                 listen_spec == NULL ? 0 :
	                                       (int)workers + (upload_spec != NULL ? (int)upload_workers : 0),
	                 err, sizeof(err)) != 0) {
		fprintf(stderr, "mediad: configuration: %s\n", err);
		config_free(&cfg);
		return 78; /* EX_CONFIG */
	}
	signal(SIGPIPE, SIG_IGN);
	if (FCGX_Init() != 0) {
		fprintf(stderr, "mediad: FCGX_Init failed\n");
		config_free(&cfg);
		return 1;
	}
	if (listen_spec != NULL) {
		fd = open_listener(listen_spec, cfg.listen_group);
		/* Uploads get workers of their own, so that slow uploads can take only them, never the
		 * workers the rest of the API needs (the web server sends the upload routes there). */
		if (fd >= 0 && upload_spec != NULL) {
			upload_fd = open_listener(upload_spec, cfg.listen_group);
			if (upload_fd < 0) {
				close(fd);
				fd = -1;
			}
		}
		if (fd < 0) {
			config_free(&cfg);
			return 1;
		}
		for (i = 0; i < (int)workers; i++)
			place_fd[i] = fd;
		for (i = 0; upload_fd >= 0 && i < (int)upload_workers; i++)
			place_fd[workers + i] = upload_fd;
		rc = master_run(&cfg, place_fd, (int)workers + (upload_fd >= 0 ? (int)upload_workers : 0));
		close(fd);
		if (upload_fd >= 0)
			close(upload_fd);
	} else {
		if (fstat(0, &st) != 0 || !S_ISSOCK(st.st_mode)) {
			fprintf(stderr,
			        "mediad: fd 0 is not a listening socket: let a web server spawn mediad "
			        "(lighttpd bin-path, Apache mod_fcgid) or give --listen\n");
			config_free(&cfg);
			return 2;
		}
		rc = worker_run(&cfg, 0);
	}
	config_free(&cfg);
	return rc;
}
