/* A hierarchical hashed timer wheel with millisecond ticks.
 *
 * Seven levels of 64 slots; level L slots are 64^L ms wide, so the wheel
 * spans 2^42 ms (139 years) with no overflow list. A timer sits at the
 * highest 6-bit group where its due time differs from the wheel's clock
 * `last`, in the slot named by that group of its due time. Invariant: every
 * timer at level L has (due >> 6L) in the window (last >> 6L, last's window
 * end], so when the clock moves to `now` the reached slots are exactly those
 * whose index lies in (last >> 6L, now >> 6L]; their timers either expire or
 * are re-linked (cascaded) to a lower level. One bitmap per level skips
 * empty slots, so start and stop are O(1) and collecting costs O(levels +
 * timers touched), whatever the time jump.
 *
 * Expired timers go to a list sorted by due time, then FIFO; the loop pops
 * them one at a time (two-phase expiry), so a callback may stop or restart
 * any timer, including one already collected.
 */
#include <stdlib.h>

#include "runtime_internal.h"

#define BITS 6
#define SLOTS 64
#define LEVELS 7

/* em_timer._active: which list links the timer. */
enum { IN_WHEEL = 1, IN_READY = 2, IN_EXPIRED = 3 };

typedef struct tlist {
    em_timer *head, *tail;
} tlist;

struct em__wheel {
    uint64_t last; /* every timer due <= last has been collected */
    uint64_t occupied[LEVELS];
    tlist slots[LEVELS][SLOTS];
    tlist ready;   /* started with due <= last: fire at the next collect */
    tlist expired; /* collected, waiting to be called */
};

static void list_append(tlist *l, em_timer *t) {
    t->_next = NULL;
    t->_prev = l->tail;
    if (l->tail)
        l->tail->_next = t;
    else
        l->head = t;
    l->tail = t;
}

static void list_unlink(tlist *l, em_timer *t) {
    if (t->_prev)
        t->_prev->_next = t->_next;
    else
        l->head = t->_next;
    if (t->_next)
        t->_next->_prev = t->_prev;
    else
        l->tail = t->_prev;
    t->_next = t->_prev = NULL;
}

static unsigned level_of(uint64_t due, uint64_t last) {
    uint64_t diff = due ^ last;
    unsigned hb = 63u - (unsigned)__builtin_clzll(diff); /* diff != 0 */
    unsigned level = hb / BITS;
    return level < LEVELS ? level : LEVELS - 1;
}

static unsigned slot_of(uint64_t due, unsigned level) {
    return (unsigned)(due >> (level * BITS)) & (SLOTS - 1);
}

struct em__wheel *em__wheel_new(uint64_t now_ms) {
    struct em__wheel *w = calloc(1, sizeof *w);
    if (w)
        w->last = now_ms;
    return w;
}

void em__wheel_free(struct em__wheel *w) { free(w); }

void em__wheel_insert(struct em__wheel *w, em_timer *t) {
    if (t->_due <= w->last) {
        t->_active = IN_READY;
        list_append(&w->ready, t);
        return;
    }
    unsigned lv = level_of(t->_due, w->last);
    unsigned sl = slot_of(t->_due, lv);
    t->_active = IN_WHEEL;
    list_append(&w->slots[lv][sl], t);
    w->occupied[lv] |= 1ull << sl;
}

void em__wheel_remove(struct em__wheel *w, em_timer *t) {
    switch (t->_active) {
    case IN_WHEEL: {
        /* The invariant lets us recompute the level from the current clock:
         * due and last still first differ at the level it was linked at. */
        unsigned lv = level_of(t->_due, w->last);
        unsigned sl = slot_of(t->_due, lv);
        tlist *l = &w->slots[lv][sl];
        list_unlink(l, t);
        if (!l->head)
            w->occupied[lv] &= ~(1ull << sl);
        break;
    }
    case IN_READY:
        list_unlink(&w->ready, t);
        break;
    case IN_EXPIRED:
        list_unlink(&w->expired, t);
        break;
    default:
        return;
    }
    t->_active = 0;
}

/* Stable merge sort of a NULL-terminated singly linked chain by _due. */
static em_timer *merge_sort(em_timer *h) {
    if (!h || !h->_next)
        return h;
    em_timer *slow = h, *fast = h->_next;
    while (fast && fast->_next) {
        slow = slow->_next;
        fast = fast->_next->_next;
    }
    em_timer *b = slow->_next;
    slow->_next = NULL;
    em_timer *a = merge_sort(h);
    b = merge_sort(b);
    em_timer head = {0}, *tail = &head;
    while (a && b) {
        if (b->_due < a->_due) {
            tail->_next = b;
            b = b->_next;
        } else {
            tail->_next = a;
            a = a->_next;
        }
        tail = tail->_next;
    }
    tail->_next = a ? a : b;
    return head._next;
}

/* Re-thread the expired list's prev pointers and tail after sorting. */
static void sort_expired(tlist *l) {
    em_timer *h = merge_sort(l->head), *prev = NULL;
    l->head = h;
    for (em_timer *t = h; t; t = t->_next) {
        t->_prev = prev;
        prev = t;
    }
    l->tail = prev;
}

/* Detach slot (lv, sl) and append its timers to *out (a singly linked
 * chain through _next). */
static void take_slot(struct em__wheel *w, unsigned lv, unsigned sl, em_timer **out_tail) {
    tlist *l = &w->slots[lv][sl];
    if (!l->head)
        return;
    (*out_tail)->_next = l->head;
    *out_tail = l->tail;
    l->head = l->tail = NULL;
    w->occupied[lv] &= ~(1ull << sl);
}

void em__wheel_collect(struct em__wheel *w, uint64_t now) {
    bool sorted = true;
    em_timer *t, *next;

    /* Timers started already due come first: their due <= last < rest. */
    while ((t = w->ready.head)) {
        list_unlink(&w->ready, t);
        if (w->expired.tail && w->expired.tail->_due > t->_due)
            sorted = false;
        t->_active = IN_EXPIRED;
        list_append(&w->expired, t);
    }
    if (now <= w->last)
        goto done;

    /* Gather every timer in a reached slot, lowest level first and slots in
     * time order, so the common case (level 0 only) arrives sorted. */
    em_timer reached = {0}, *rtail = &reached;
    for (unsigned lv = 0; lv < LEVELS; lv++) {
        unsigned shift = lv * BITS;
        uint64_t lo = w->last >> shift, hi = now >> shift;
        if (lo == hi)
            break; /* nothing reached here or at any higher level */
        if (hi - lo >= SLOTS) {
            for (unsigned s = 0; s < SLOTS; s++)
                take_slot(w, lv, (unsigned)((lo + 1 + s) & (SLOTS - 1)), &rtail);
            continue;
        }
        for (uint64_t p = lo + 1; p <= hi; p++) {
            unsigned s = (unsigned)(p & (SLOTS - 1));
            if (w->occupied[lv] & (1ull << s))
                take_slot(w, lv, s, &rtail);
        }
    }
    rtail->_next = NULL;
    w->last = now;

    for (t = reached._next; t; t = next) {
        next = t->_next;
        if (t->_due <= now) {
            if (w->expired.tail && w->expired.tail->_due > t->_due)
                sorted = false;
            t->_active = IN_EXPIRED;
            list_append(&w->expired, t);
        } else {
            em__wheel_insert(w, t); /* cascade to a lower level */
        }
    }
done:
    if (!sorted)
        sort_expired(&w->expired);
}

em_timer *em__wheel_pop_expired(struct em__wheel *w) {
    em_timer *t = w->expired.head;
    if (t) {
        list_unlink(&w->expired, t);
        t->_active = 0;
    }
    return t;
}

uint64_t em__wheel_next_due(const struct em__wheel *w) {
    if (w->ready.head || w->expired.head)
        return w->last;
    for (unsigned lv = 0; lv < LEVELS; lv++) {
        uint64_t occ = w->occupied[lv];
        if (!occ)
            continue;
        /* By the invariant every occupied index is above last's index at
         * this level; the lowest one is the earliest slot. */
        unsigned shift = lv * BITS;
        unsigned s = (unsigned)__builtin_ctzll(occ);
        uint64_t window = (w->last >> shift) & ~(uint64_t)(SLOTS - 1);
        uint64_t start = (window | s) << shift;
        return start > w->last ? start : w->last + 1;
    }
    return UINT64_MAX;
}
