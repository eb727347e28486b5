/* probe_run.c: runs ffprobe on an upload through the child runner and judges it (see probe.h). */
#include "config.h"

#include "media/probe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

_Static_assert(PROBE_STDERR_KEEP <= CHILD_ERR_MAX, "the runner keeps the stderr tail");

/* Sets in *input "file:" and path made absolute against the current directory. Returns 0 or -1. */
static int probe_input_url(const char *path, struct buf *input, struct buf *abspath)
{
	char *cwd = NULL;
	int rc = -1;

	if (path[0] != '/') {
		cwd = getcwd(NULL, 0);
		if (cwd == NULL)
			goto out;
		buf_puts(abspath, cwd);
		if (abspath->len == 0 || abspath->data[abspath->len - 1] != '/')
			buf_putc(abspath, '/');
	}
	buf_puts(abspath, path);
	buf_puts(input, "file:");
	buf_append(input, abspath->data, abspath->len);
	if (abspath->failed || input->failed)
		goto out;
	rc = 0;
out:
	free(cwd);
	return rc;
}

/* The argv of both probes: cmd->input names what to read, through protocol only ("file:" plus the
 * whitelist: the name is never an option, another protocol or a URL), and only the demuxers of the
 * containers we accept (probe.c's tables): an HLS or concat playlist, an SDP or ffconcat file that
 * opens other local paths is never even parsed. */
static void probe_argv(struct probe_cmd *cmd, const char *ffprobe_path, const char *protocol, bool no_pattern,
                       bool one_thread)
{
	size_t argc = 0;

	cmd->opts.out_max = PROBE_STDOUT_MAX;
	cmd->opts.err_keep = PROBE_STDERR_KEEP;
	cmd->argv[argc++] = ffprobe_path;
	cmd->argv[argc++] = "-v";
	cmd->argv[argc++] = "error";
	cmd->argv[argc++] = "-hide_banner";
	cmd->argv[argc++] = "-protocol_whitelist";
	cmd->argv[argc++] = protocol;
	cmd->argv[argc++] = "-format_whitelist";
	cmd->argv[argc++] = PROBE_FORMAT_WHITELIST;
	if (no_pattern) {
		cmd->argv[argc++] = "-pattern_type";
		cmd->argv[argc++] = "none";
	}
	if (one_thread) {
		cmd->argv[argc++] = "-threads";
		cmd->argv[argc++] = "1";
	}
	cmd->argv[argc++] = "-print_format";
	cmd->argv[argc++] = "json";
	cmd->argv[argc++] = "-show_format";
	cmd->argv[argc++] = "-show_streams";
	cmd->argv[argc++] = cmd->input.data;
	cmd->argv[argc] = NULL;
}

int probe_cmd_build(struct probe_cmd *cmd, const char *ffprobe_path, const char *path, int timeout_s,
                    char *why, size_t whylen)
{
	struct stat st;

	memset(cmd, 0, sizeof(*cmd));
	buf_init(&cmd->input);
	buf_init(&cmd->abspath);
	if (ffprobe_path == NULL || ffprobe_path[0] == '\0' || path == NULL || path[0] == '\0' ||
	    timeout_s < 1 || timeout_s > PROBE_TIMEOUT_MAX) {
		probe_why(why, whylen, "invalid arguments to probe_file");
		return -1;
	}
	/* A FIFO or device would have ffprobe wait or read forever; only plain files are probed. */
	if (stat(path, &st) != 0) {
		probe_why(why, whylen, "the file cannot be opened: %s", strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		probe_why(why, whylen, "not a regular file");
		return -1;
	}
	if (probe_input_url(path, &cmd->input, &cmd->abspath) != 0) {
		probe_why(why, whylen, "out of memory or no current directory");
		return -2;
	}
	cmd->timeout_s = timeout_s;
	cmd->opts.timeout_ms = (int64_t)timeout_s * 1000;
	/* The image2 demuxer would read "a%d.png" as a numbered sequence of other files. */
	probe_argv(cmd, ffprobe_path, "file", strchr(cmd->abspath.data, '%') != NULL, false);
	return 0;
}

int probe_cmd_build_stdin(struct probe_cmd *cmd, const char *ffprobe_path, int timeout_s, char *why,
                          size_t whylen)
{
	memset(cmd, 0, sizeof(*cmd));
	buf_init(&cmd->input);
	buf_init(&cmd->abspath);
	if (ffprobe_path == NULL || ffprobe_path[0] == '\0' || timeout_s < 1 ||
	    timeout_s > PROBE_TIMEOUT_MAX) {
		probe_why(why, whylen, "invalid arguments to probe_file");
		return -1;
	}
	/* No path: abspath stays "", and ffprobe's messages name pipe:0, which reads as "the file". */
	buf_puts(&cmd->input, "pipe:0");
	if (cmd->input.failed) {
		probe_why(why, whylen, "out of memory");
		return -2;
	}
	cmd->timeout_s = timeout_s;
	cmd->opts.in_feed = true;
	/* The decoders it opens for a frame or two need no threads; starting them costs more. */
	probe_argv(cmd, ffprobe_path, "pipe", false, true);
	return 0;
}

void probe_cmd_free(struct probe_cmd *cmd)
{
	buf_free(&cmd->input);
	buf_free(&cmd->abspath);
	memset(cmd->argv, 0, sizeof(cmd->argv));
}

void probe_outcome_of(struct probe_outcome *o, const struct child *c)
{
	memset(o, 0, sizeof(*o));
	o->status = c->status;
	o->timed_out = c->timed_out;
	o->out_over_cap = c->out_over_cap;
	o->read_errno = c->read_errno;
	o->wait_errno = c->wait_errno;
	o->out = c->out.data;
	o->out_len = c->out.len;
	o->err = c->err;
	o->err_len = c->err_len;
}

int probe_file(const char *ffprobe_path, const char *path, int timeout_s, struct probe_result *out, char *why,
               size_t whylen)
{
	struct probe_cmd cmd;
	struct probe_outcome o;
	struct child *ch = NULL;
	int rc, err;

	probe_result_reset(out);
	probe_why(why, whylen, "%s", "");
	rc = probe_cmd_build(&cmd, ffprobe_path, path, timeout_s, why, whylen);
	if (rc != 0)
		goto out;
	/* On the heap: the stderr tail makes it large for a request handler's stack. */
	ch = malloc(sizeof(*ch));
	if (ch == NULL) {
		probe_why(why, whylen, "out of memory");
		rc = -2;
		goto out;
	}
	err = child_run(ch, cmd.argv, &cmd.opts);
	if (err != 0) {
		probe_why(why, whylen, "could not start ffprobe: %s", strerror(err));
		rc = -2;
		goto out;
	}
	probe_outcome_of(&o, ch);
	rc = probe_verdict(&cmd, &o, out, why, whylen);
out:
	if (rc != 0)
		probe_result_reset(out);
	if (ch != NULL)
		child_close(ch);
	free(ch);
	probe_cmd_free(&cmd);
	return rc;
}
