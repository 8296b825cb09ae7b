/*
 * spry-up: the program behind `spry up`. It is separate from spry because
 * the HTTP library is a shared object, and loading it (with OpenSSL) at
 * every start would triple the start-up time of `spry run`; spry itself is
 * a static binary that runs this one for `up` (src/cli/main.c).
 */
#include "cli/commands.h"

int main(int argc, char **argv)
{
    return cli_up(argc, argv);
}
