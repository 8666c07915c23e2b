/* parse_cmd.h: the "sipeer parse FILE..." command. */
#ifndef SP_APP_PARSE_CMD_H
#define SP_APP_PARSE_CMD_H

/* Parses each file as one UDP datagram and prints "FILE: valid" or
 * "FILE: invalid: reason". Returns the exit status: 0 when all are valid. */
int sp_parse_cmd(int argc, char **argv);

#endif
