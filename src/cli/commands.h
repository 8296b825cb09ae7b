/* Subcommands of the spry CLI. Each takes its own argv (argv[0] is its name)
 * and returns the process exit status; 2 means a usage error. */
#ifndef SPRY_CLI_COMMANDS_H
#define SPRY_CLI_COMMANDS_H

int cli_run(int argc, char **argv);
int cli_up(int argc, char **argv);      /* in spry-up only */
int cli_up_exec(int argc, char **argv); /* spry: runs spry-up */

#endif
