/* sipeer.c: main of sipeer: the command-line contract of DESIGN.md section 3. */
#include <stdio.h>
#include <string.h>

#include "app/parse_cmd.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: sipeer parse FILE...       check SIP messages (one datagram per file)\n"
		"       sipeer --version\n"
		"       sipeer -c FILE             run the daemon (not built yet: see README)\n");
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "parse") == 0)
		return sp_parse_cmd(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
		printf("sipeer 0.1.0\n");
		return 0;
	}
	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		usage(stdout);
		return 0;
	}
	/* The daemon (transports, transactions, proxy, registrar) is the next
	 * milestone; until it lands, say so plainly instead of pretending. */
	fprintf(stderr, "sipeer: the daemon is not implemented yet; only 'sipeer parse' is.\n");
	usage(stderr);
	return 2;
}
