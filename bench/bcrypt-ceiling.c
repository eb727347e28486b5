/* bcrypt-ceiling.c: the login ceiling of a bcrypt peer, for benchmarks: bcrypt cost 10 hashes (the
 * Node.js seeds' password hashing) on every core at once, in C (libcrypt's crypt_blowfish, the code
 * node's native bcrypt wraps), with no HTTP, database or token around them. A peer's login does all
 * that and this too, so its logins per second are at most this figure.
 *
 * Usage: bcrypt-ceiling SECONDS [PROCESSES]; prints "hashes_per_s=N processes=P". */
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 5.0, t0;
	long procs = argc > 2 ? atol(argv[2]) : sysconf(_SC_NPROCESSORS_ONLN);
	long total = 0, i;
	int fds[2], st;

	if (secs <= 0 || secs > 600 || procs < 1 || procs > 256 || pipe(fds) != 0)
		return 2;
	t0 = now_s();
	for (i = 0; i < procs; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return 1;
		if (pid == 0) {
			struct crypt_data cd;
			char setting[64];
			long n = 0;

			close(fds[0]);
			memset(&cd, 0, sizeof(cd));
			if (crypt_gensalt_rn("$2b$", 10, NULL, 0, setting, sizeof(setting)) == NULL)
				_exit(1);
			while (now_s() - t0 < secs) {
				const char *h = crypt_r("Password123", setting, &cd);

				if (h == NULL || h[0] != '$')
					_exit(1);
				n++;
			}
			if (write(fds[1], &n, sizeof(n)) != (ssize_t)sizeof(n))
				_exit(1);
			_exit(0);
		}
	}
	close(fds[1]);
	for (i = 0; i < procs; i++) {
		long n = 0;

		if (read(fds[0], &n, sizeof(n)) == (ssize_t)sizeof(n))
			total += n;
	}
	while (wait(&st) > 0)
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			return 1;
	printf("hashes_per_s=%.1f processes=%ld\n", (double)total / (now_s() - t0), procs);
	return 0;
}
