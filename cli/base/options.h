/* SPDX-License-Identifier: GPL-2.0 */
/* options.h - a command line read by one table: the --help text, getopt_long()'s option
 * array and short-option string, and the storing of each value all come from its rows.
 *
 * A row is an option (--NAME, and -KEY when it has a short letter; it takes a value when
 * it names one in arg) or a piece of the help text. An option's value is checked and
 * stored at an offset in the caller's settings struct, by kind, or handed to a function.
 * A row may include another table made at run time (another module's options).
 *
 * --help prints every row in order: text rows as they are, options as
 *   "  -k, --name ARG    help" or "      --name ARG    help", the help text at column
 *   OPT_HELP_COLUMN (two spaces after the option when it is longer), its further lines
 *   ("\n" between lines) indented to that column.
 * A bad value gives "invalid --NAME 'VALUE': expected ... (see --help)".
 */
#ifndef AL_OPTIONS_H
#define AL_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

#define OPT_HELP_COLUMN 25

enum opt_kind {
	OPT_END,     /* ends a table */
	OPT_TEXT,    /* no option: help is printed as it is */
	OPT_INCLUDE, /* the rows of the table include() returns, here */
	OPT_FLAG,    /* a bool set to true */
	OPT_STRING,  /* a const char * set to the value */
	OPT_WHOLE,   /* a whole number from min to max, stored in an int or a 64-bit field */
	OPT_SECONDS, /* a double > 0 (decimal digits and a point, at most a year) */
	OPT_BYTES,   /* a double >= 0 (decimal, an exponent allowed) */
	OPT_CHOICE,  /* one of the names in choices: its index, stored in an int or an enum */
	OPT_CALL,    /* call(cfg, name, value) does the storing */
	OPT_HELP,    /* print the --help text on stdout; the command line is done */
};

/* Returns 0, OPT_STOP when the command line is done (--version printed), or -1 with a
 * one-line reason in err. */
typedef int (*opt_call_fn)(void *cfg, const char *name, const char *arg, char *err, size_t errlen);

#define OPT_STOP 1

struct opt {
	enum opt_kind kind;
	const char *name; /* long name without the dashes */
	int key;          /* short letter, or 0 */
	const char *arg;  /* the value's name in --help; NULL: the option takes no value */
	const char *help; /* lines separated by "\n"; OPT_TEXT: printed as it is */
	size_t off, size; /* where the value goes in the settings struct */
	long min, max;    /* OPT_WHOLE */
	const char *const *choices;         /* OPT_CHOICE: the names, NULL last */
	opt_call_fn call;                   /* OPT_CALL */
	const struct opt *(*include)(void); /* OPT_INCLUDE: NULL when out of memory */
};

/* The offset and size of a field of the settings struct, for a row. */
#define OPT_AT(type, field) .off = offsetof(type, field), .size = sizeof(((type *)0)->field)

/* Read the options of argv[1..argc-1] by table into cfg (getopt_long: options and
 * operands may mix, "--" ends the options, argv is permuted). Returns 0 with the index of
 * the first operand in *first, OPT_STOP when an option did all there is to do (--help),
 * or -1 with a one-line reason in err. */
int opt_parse(const struct opt *table, void *cfg, int argc, char **argv, int *first, char *err,
              size_t errlen);
/* The --help text of table. Returns -1 when an include failed (out of memory). */
int opt_usage(FILE *f, const struct opt *table);

/* The value checks of the kinds, for operands and OPT_CALL rows; what names the value
 * in the message ("--top", "INTERVAL"). Return 0, or -1 with the message in err. */
int opt_whole(const char *s, const char *what, long min, long max, long *v, char *err,
              size_t errlen);
int opt_seconds(const char *s, const char *what, double *v, char *err, size_t errlen);
int opt_bytes(const char *s, const char *what, double *v, char *err, size_t errlen);
/* Format a reason into err; returns -1. */
int opt_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
