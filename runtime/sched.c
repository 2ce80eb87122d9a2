/* The multicore scheduler: N threads, each running its own loop, optionally
 * pinned to a core. Meant for SO_REUSEPORT servers, where each worker has
 * its own listener and nothing is shared between loops. */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "runtime_internal.h"

struct em__worker {
    em_loop loop;
    pthread_t thread;
    em_sched *sched;
    unsigned index;
    int cpu;          /* -1: not pinned */
    int setup_rc;
    bool started;     /* thread created */
};

/* Shared start-up state: the starter waits until every worker reported. */
typedef struct startup {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned reported;
    const em_sched_opts *opts;
} startup;

typedef struct worker_arg {
    struct em__worker *w;
    startup *st;
} worker_arg;

unsigned em_cpu_count(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0)
            return (unsigned)n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

/* The i-th CPU (mod count) this process may run on, so pinning respects an
 * outer taskset. */
static int nth_allowed_cpu(unsigned i) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return -1;
    int n = CPU_COUNT(&set);
    if (n <= 0)
        return -1;
    int want = (int)(i % (unsigned)n);
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set) && want-- == 0)
            return c;
    return -1;
}

static void report(startup *st, struct em__worker *w, int rc) {
    pthread_mutex_lock(&st->mu);
    w->setup_rc = rc;
    st->reported++;
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
}

static void *worker_main(void *p) {
    worker_arg *a = p;
    struct em__worker *w = a->w;
    startup *st = a->st;
    const em_sched_opts *opts = st->opts;
    em_sched_teardown_cb teardown = opts->teardown;
    void *arg = opts->arg;
    free(a);

    if (w->cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(w->cpu, &set);
        pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    }
    int rc = em_loop_init(&w->loop);
    bool have_loop = rc == 0;
    if (have_loop && opts->setup)
        rc = opts->setup(&w->loop, w->index, arg);
    if (rc < 0) {
        /* Setup failed: whatever it started must be torn down too. */
        if (have_loop) {
            if (teardown)
                teardown(&w->loop, w->index, arg);
            em_loop_run(&w->loop, EM_RUN_DEFAULT);
            if (em_loop_close(&w->loop) < 0)
                rc = EM_EBUSY; /* a setup left a handle open */
        }
        report(st, w, rc);
        return NULL;
    }
    report(st, w, 0); /* st may be gone after this: never touch it again */

    /* The ref keeps an idle worker running until em_sched_stop(). */
    em_loop_ref(&w->loop);
    em_loop_run(&w->loop, EM_RUN_DEFAULT);
    em_loop_unref(&w->loop);
    if (teardown)
        teardown(&w->loop, w->index, arg);
    /* Let close callbacks queued by the teardown run, then close. */
    em_loop_run(&w->loop, EM_RUN_DEFAULT);
    w->setup_rc = em_loop_close(&w->loop);
    return NULL;
}

int em_sched_start(em_sched *s, const em_sched_opts *opts) {
    unsigned n = opts->workers ? opts->workers : em_cpu_count();
    s->_n = 0;
    s->_workers = calloc(n, sizeof *s->_workers);
    if (!s->_workers)
        return EM_ENOMEM;

    startup st = { .reported = 0, .opts = opts };
    pthread_mutex_init(&st.mu, NULL);
    pthread_cond_init(&st.cv, NULL);

    /* Workers inherit a fully blocked signal mask, so signals go to the
     * thread that watches them (em_signal) rather than a random worker. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);

    int rc = 0;
    unsigned created = 0;
    for (unsigned i = 0; i < n; i++) {
        struct em__worker *w = &s->_workers[i];
        w->sched = s;
        w->index = i;
        w->cpu = opts->pin ? nth_allowed_cpu(i) : -1;
        worker_arg *a = malloc(sizeof *a);
        if (!a) {
            rc = EM_ENOMEM;
            break;
        }
        a->w = w;
        a->st = &st;
        int e = pthread_create(&w->thread, NULL, worker_main, a);
        if (e != 0) {
            free(a);
            rc = em_err_from_errno(e);
            break;
        }
        w->started = true;
        created++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    pthread_mutex_lock(&st.mu);
    while (st.reported < created)
        pthread_cond_wait(&st.cv, &st.mu);
    pthread_mutex_unlock(&st.mu);
    pthread_cond_destroy(&st.cv);
    pthread_mutex_destroy(&st.mu);

    s->_n = n;
    for (unsigned i = 0; i < created && rc == 0; i++)
        if (s->_workers[i].setup_rc < 0)
            rc = s->_workers[i].setup_rc;
    if (rc < 0) {
        /* Workers that failed already exited; stop the others. */
        for (unsigned i = 0; i < created; i++)
            if (s->_workers[i].setup_rc == 0)
                em_loop_stop(&s->_workers[i].loop);
        em_sched_join(s);
        return rc;
    }
    return 0;
}

void em_sched_stop(em_sched *s) {
    for (unsigned i = 0; i < s->_n; i++)
        if (s->_workers[i].started && s->_workers[i].setup_rc == 0)
            em_loop_stop(&s->_workers[i].loop);
}

int em_sched_join(em_sched *s) {
    int rc = 0;
    for (unsigned i = 0; i < s->_n; i++) {
        struct em__worker *w = &s->_workers[i];
        if (!w->started)
            continue;
        pthread_join(w->thread, NULL);
        if (w->setup_rc < 0 && rc == 0)
            rc = w->setup_rc;
    }
    free(s->_workers);
    s->_workers = NULL;
    s->_n = 0;
    return rc;
}

em_loop *em_sched_loop(em_sched *s, unsigned i) {
    return i < s->_n ? &s->_workers[i].loop : NULL;
}
