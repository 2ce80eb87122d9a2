/* Error codes: one table (runtime.h) generates the enum, the messages and
 * the names, so the three can never disagree. */
#include <string.h>

#include "ember/runtime.h"

const char *em_strerror(int err) {
    switch (err) {
    case 0:
        return "success";
#define MSG(name, value, msg) \
    case value:               \
        return msg;
        EM_ERRNO_TABLE(MSG)
        EM_OWN_ERR_TABLE(MSG)
#undef MSG
    default:
        break;
    }
    /* An errno the table does not list: glibc's strerror text is static
     * for every valid errno, and "Unknown error" otherwise is not, so only
     * trust the C library for plausible errno values. */
    if (err < 0 && err > -4096)
        return strerrordesc_np(-err) ? strerrordesc_np(-err) : "unknown error";
    return "unknown error";
}

const char *em_err_name(int err) {
    switch (err) {
    case 0:
        return "EM_OK";
#define NAME(name, value, msg) \
    case value:                \
        return "EM_" #name;
        EM_ERRNO_TABLE(NAME)
        EM_OWN_ERR_TABLE(NAME)
#undef NAME
    default:
        return "EM_EUNKNOWN";
    }
}
