/*
 * cli.c: --version and bad usage, said the same way by every program
 * (cli.h).  The version comes from the generated xenos/version.h
 * (scripts/version.cmake, run at every build, so `git describe` follows
 * the checkout).
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <xenos/cli.h>
#include <xenos/version.h>

const char cli_version_string[] = XENOS_VERSION_FULL;

int cli_version(const char *prog)
{
    printf("%s (xenos) %s\n", prog, cli_version_string);
    return fflush(stdout) || ferror(stdout) ? 1 : 0;
}

int cli_usage_error(const char *prog, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help'.\n", prog);
    return CLI_EXIT_USAGE;
}

int cli_bad_option(const char *prog, int c, char *const argv[])
{
    /* getopt_long has stepped past the word it stopped at, except inside
     * a group of short options ("-bx"): there optopt is the letter. */
    const char *word = optind > 0 ? argv[optind - 1] : "";
    int len = (int)strcspn(word, "=");
    bool is_long = !strncmp(word, "--", 2);

    if ( c == ':' )
        return is_long ? cli_usage_error(prog, "option '%.*s' needs a value",
                                         len, word)
                       : cli_usage_error(prog, "option '-%c' needs a value",
                                         optopt);
    if ( is_long && word[len] == '=' && optopt )
        return cli_usage_error(prog, "option '%.*s' takes no value", len,
                               word);
    if ( is_long )
        return cli_usage_error(prog, "unknown option '%.*s'", len, word);
    if ( optopt > ' ' && optopt < 0x7f )
        return cli_usage_error(prog, "unknown option '-%c'", optopt);
    return cli_usage_error(prog, "unknown option '%s'", word);
}
