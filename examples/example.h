/* Helpers every example server shares: arguments and the ready line. */
#ifndef EMBER_EXAMPLE_H
#define EMBER_EXAMPLE_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember.h"

/* Check the arguments before anything starts: each must be "--name value"
 * with a name from `names` (NULL-terminated). --help or -h prints the usage
 * and exits 0; anything else prints it and exits 2, so a typo never starts
 * a server on the default port. */
static inline void example_args(int argc, char **argv, const char *usage,
                                const char *const names[]) {
    for (int i = 1; i < argc; i += 2) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("%s\n", usage);
            exit(0);
        }
        bool known = false;
        for (const char *const *n = names; *n; n++)
            known = known || !strcmp(argv[i], *n);
        if (!known || i + 1 >= argc) {
            fprintf(stderr, "%s\n", usage);
            exit(2);
        }
    }
}

/* The value of "--name N" among the arguments, or def. A value that is not
 * a decimal number up to max ends the program with status 2. */
static inline unsigned example_arg(int argc, char **argv, const char *name, unsigned def,
                                   unsigned max) {
    for (int i = 1; i + 1 < argc; i += 2) { /* pairs, as example_args checked */
        if (strcmp(argv[i], name))
            continue;
        const char *v = argv[i + 1];
        char *end;
        unsigned long n = strtoul(v, &end, 10);
        if (*v < '0' || *v > '9' || *end || n > max) {
            fprintf(stderr, "%s: want a number up to %u, got '%s'\n", name, max, v);
            exit(2);
        }
        return (unsigned)n;
    }
    return def;
}

/* em_http_serve's ready callback: the line tests and scripts wait for. */
static inline void example_ready(const em_sockaddr *bound, void *arg) {
    char text[EM_SOCKADDR_STRLEN];
    if (em_sockaddr_format(bound, text, sizeof text) > 0)
        printf("listening on %s\n", text);
    fflush(stdout);
}

#endif
