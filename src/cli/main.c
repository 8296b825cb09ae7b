/* spry: the command-line interface. */
#include "cli/commands.h"

#include "spry/spry.h"

#include <stdio.h>
#include <string.h>

static int cli_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("spry %s\n", spry_version());
    return 0;
}

struct command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
    {"run", "run a WASI program or call a module's export (see 'spry run --help')", cli_run},
    {"up", "serve a Spin application over HTTP (see 'spry up --help')", cli_up_exec},
    {"version", "print the version", cli_version},
};

static void print_help(FILE *out)
{
    fprintf(out,
            "spry %s - serverless WebAssembly\n\n"
            "usage: spry [--version] [--help] <command> [args]\n\n"
            "commands:\n",
            spry_version());
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\noptions:\n"
                 "  --version  print the version and exit\n"
                 "  --help     print this help and exit\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return 2;
    }
    const char *arg = argv[1];
    if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0) {
        printf("spry %s\n", spry_version());
        return 0;
    }
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 || strcmp(arg, "help") == 0) {
        print_help(stdout);
        return 0;
    }
    if (arg[0] == '-') {
        fprintf(stderr, "spry: unknown option '%s' (see 'spry --help')\n", arg);
        return 2;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(arg, commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "spry: unknown command '%s' (see 'spry --help')\n", arg);
    return 2;
}
