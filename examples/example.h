/* Two helpers every example server shares. */
#ifndef EMBER_EXAMPLE_H
#define EMBER_EXAMPLE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember.h"

/* The value of "--name N" among the arguments, or def. */
static inline unsigned example_arg(int argc, char **argv, const char *name, unsigned def) {
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], name))
            return (unsigned)strtoul(argv[i + 1], NULL, 10);
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
