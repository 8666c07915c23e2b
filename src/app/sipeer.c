/* sipeer.c: main of sipeer: the command-line contract of DESIGN.md section 3. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/daemon.h"
#include "app/parse_cmd.h"
#include "config/config.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: sipeer [-c FILE]              run the daemon in the foreground (without -c: the\n"
		"                                     built-in configuration of examples/sipeer.yaml)\n"
		"       sipeer --check -c FILE        validate a configuration (FILE:LINE:COL: errors)\n"
		"       sipeer parse FILE...          check SIP messages (one UDP datagram per file)\n"
		"       sipeer --version\n");
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	int check = 0;

	if (argc >= 2 && strcmp(argv[1], "parse") == 0)
		return sp_parse_cmd(argc - 2, argv + 2);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--version") == 0) {
			printf("sipeer 0.1.0\n");
			return 0;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--check") == 0) {
			check = 1;
		} else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			path = argv[++i];
		} else {
			fprintf(stderr, "sipeer: unknown argument '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (check) {
		if (!path) {
			fprintf(stderr, "sipeer: --check needs -c FILE\n");
			return 2;
		}
		return sp_config_check_cmd(path, stderr);
	}

	struct sp_config *cfg = NULL;
	struct sp_config_diag *diag = calloc(1, sizeof(*diag));
	int err;
	if (!diag)
		return 1;
	err = path ? sp_config_load(path, &cfg, diag) : sp_config_load_default(&cfg, diag);
	if (err) {
		sp_config_diag_print(diag, stderr);
		free(diag);
		return 1;
	}
	free(diag);
	/* glibc hands the top of the heap back to the kernel whenever 128 KiB
	 * are free there, and the next burst faults the pages in again: at
	 * 1,000 calls/s that churn (brk, page faults, zeroing) was about 4 % of
	 * the daemon's CPU. A daemon's peak comes back: keep up to 64 MiB. */
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	mallopt(M_TOP_PAD, 1 << 20);
	if (!path)
		fprintf(stderr, "sipeer: no -c FILE: running the built-in configuration "
				"(examples/sipeer.yaml)\n");
	return sp_daemon_run(cfg, path);
}
