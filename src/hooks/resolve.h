/* resolve.h: host name resolution with a deadline, off the delivery loop (one small thread each). */
#ifndef MEDIAD_HOOKS_RESOLVE_H
#define MEDIAD_HOOKS_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* The most addresses one name gives us; the rest are ignored (never connected to). */
#define RESOLVE_MAX_ADDRS 16
/* Lookups given up on but still running in their thread; past this, resolve_start refuses every
 * host (EAGAIN) until one of them ends. */
#define RESOLVE_ABANDONED_MAX 16
/* The same, for one host name: past this, resolve_start refuses that host (EBUSY) and no other, so
 * one endpoint whose DNS never answers cannot take every thread. */
#define RESOLVE_HOST_ABANDONED_MAX 2

struct resolve;

/* What a lookup found. */
struct resolve_addrs {
	struct sockaddr_storage addr[RESOLVE_MAX_ADDRS];
	int n;
};

/*
 * Starts getaddrinfo(host) (TCP, any family) in a detached thread; when it ends, abandoned or not,
 * the thread writes a byte to wake_fd (non-blocking; the loop polls it and must keep it open for
 * the process's life). Returns the lookup, or NULL with errno: EBUSY when
 * RESOLVE_HOST_ABANDONED_MAX lookups of host were abandoned and still run, EAGAIN when
 * RESOLVE_ABANDONED_MAX of any host do, ENAMETOOLONG, or the thread's error.
 */
struct resolve *resolve_start(const char *host, int wake_fd);
/* Whether resolve_start would refuse every host now (RESOLVE_ABANDONED_MAX reached). */
bool resolve_saturated(void);
/* Whether the lookup has ended. */
bool resolve_done(struct resolve *r);
/* An ended lookup's addresses into out: 0, or -1 with why (getaddrinfo's words) in err. */
int resolve_result(struct resolve *r, struct resolve_addrs *out, char *err, size_t errlen);
/* Lets go of r, ended or not: a running lookup frees itself when getaddrinfo returns (glibc's own
 * timeouts bound that: resolv.conf's timeout x attempts per server). */
void resolve_abandon(struct resolve *r);

/* The lookup a thread runs: fills out, returns 0 or a getaddrinfo error (EAI_*). */
typedef int (*resolve_lookup_fn)(const char *host, struct resolve_addrs *out);
/* Replaces getaddrinfo for the tests (a lookup that blocks until told); NULL restores it. Only
 * while no lookup runs. */
void resolve_set_lookup(resolve_lookup_fn fn);

#endif
