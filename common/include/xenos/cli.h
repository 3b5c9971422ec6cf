/*
 * cli.h: what every xenos program (xenosd, xenosctl, xenos-usage,
 * xenos-sim, xenos-simhost) says the same way.
 *
 * - `--version`: one line on stdout, "PROG (xenos) VERSION", VERSION
 *   being CMake's project version and, where the tree was a git checkout
 *   at build time, its `git describe`; exit status 0.
 * - `--help`: the program's own usage on stdout, exit status 0.
 * - bad usage (an unknown option, an option without its value, a wrong
 *   or missing word): one line "PROG: what is wrong", then "Try 'PROG
 *   --help'.", both on stderr; exit status 2 (CLI_EXIT_USAGE).
 *
 * A program gets getopt_long's findings rather than its messages: it sets
 * `opterr = 0`, starts its short options with ':' and hands whatever
 * getopt_long returned that it does not know to cli_bad_option().
 */
#ifndef XENOS_CLI_H
#define XENOS_CLI_H

#define CLI_EXIT_USAGE      2
/* The long option's value for --version, clear of every program's own
 * (characters, and enums from 256). */
#define CLI_OPT_VERSION     0x7e00

/* "VERSION" or "VERSION (git DESCRIBE)": the build's version. */
extern const char cli_version_string[];

/*
 * Print "@prog (xenos) VERSION" on stdout.  Returns the exit status: 0,
 * or 1 when stdout could not be written.
 */
int cli_version(const char *prog);

/*
 * Say on stderr "@prog: <fmt...>" and "Try '@prog --help'.", as two
 * lines.  Returns CLI_EXIT_USAGE.
 */
int cli_usage_error(const char *prog, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * After getopt_long (opterr = 0, short options starting with ':')
 * returned @c, '?' or ':', for @argv: say what was wrong through
 * cli_usage_error ("unknown option '--x'", "option '--state-dir' needs a
 * value", "option '--json' takes no value").  Returns CLI_EXIT_USAGE.
 */
int cli_bad_option(const char *prog, int c, char *const argv[]);

#endif /* XENOS_CLI_H */
