/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "tracker.h"

/* One slot of the open-addressing table. Slots are variable-sized: the ring of failure times
 * (uint32 seconds) follows the fixed part, so a jail with maxretry = 5 pays 20 + 20 bytes a slot.
 * Linear probing with backward-shift deletion: no tombstones, so lookups stay short however many
 * entries come and go. */
typedef struct Slot {
        uint8_t family;         /* 0: empty */
        uint8_t n;              /* failures in the ring */
        uint8_t head;           /* index of the oldest failure */
        uint8_t pad;
        uint8_t bytes[16];
        uint32_t ts[];
} Slot;

struct Tracker {
        unsigned maxretry;
        int64_t findtime;
        size_t max_entries;
        size_t slot_size;
        size_t capacity;        /* power of two */
        size_t size;
        uint64_t seed;
        uint8_t *slots;
};

#define TRACKER_MAXRETRY_MAX 255U
#define TRACKER_MIN_CAPACITY 64U

static inline Slot *slot_at(const Tracker *t, size_t i) {
        return (Slot *) (t->slots + i * t->slot_size);
}

static inline void slot_addr(const Slot *s, Addr *a) {
        a->family = s->family;
        memcpy(a->bytes, s->bytes, 16);
}

static inline size_t slot_home(const Tracker *t, const Slot *s) {
        Addr a;

        slot_addr(s, &a);
        return (size_t) addr_hash(&a, t->seed) & (t->capacity - 1);
}

static inline uint32_t slot_newest(const Tracker *t, const Slot *s) {
        return s->ts[(s->head + s->n - 1) % t->maxretry];
}

int tracker_new(unsigned maxretry, int64_t findtime_sec, size_t max_entries, Tracker **ret) {
        Tracker *t;

        if (maxretry < 1 || maxretry > TRACKER_MAXRETRY_MAX || findtime_sec < 1 || max_entries < 16)
                return -EINVAL;
        t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;
        t->maxretry = maxretry;
        t->findtime = findtime_sec;
        t->max_entries = max_entries;
        t->slot_size = sizeof(Slot) + sizeof(uint32_t) * maxretry;
        t->capacity = TRACKER_MIN_CAPACITY;
        if (getrandom(&t->seed, sizeof t->seed, GRND_NONBLOCK) != sizeof t->seed)
                t->seed = (uint64_t) (uintptr_t) t ^ 0x9e3779b97f4a7c15ULL;
        t->slots = calloc(t->capacity, t->slot_size);
        if (!t->slots) {
                free(t);
                return -ENOMEM;
        }
        *ret = t;
        return 0;
}

Tracker *tracker_free(Tracker *t) {
        if (!t)
                return NULL;
        free(t->slots);
        free(t);
        return NULL;
}

size_t tracker_size(const Tracker *t) {
        return t->size;
}

size_t tracker_memory(const Tracker *t) {
        return sizeof *t + t->capacity * t->slot_size;
}

/* Returns the slot index of addr, or the empty slot where it would go (*found = false). */
static size_t tracker_find(const Tracker *t, const Addr *a, bool *found) {
        size_t mask = t->capacity - 1;
        size_t i = (size_t) addr_hash(a, t->seed) & mask;

        for (;;) {
                Slot *s = slot_at(t, i);
                if (s->family == 0) {
                        *found = false;
                        return i;
                }
                if (s->family == a->family && memcmp(s->bytes, a->bytes, 16) == 0) {
                        *found = true;
                        return i;
                }
                i = (i + 1) & mask;
        }
}

static void tracker_remove_at(Tracker *t, size_t i) {
        size_t mask = t->capacity - 1;
        size_t j = i;

        /* backward-shift deletion: pull later members of the cluster into the hole when their home
         * slot does not lie (cyclically) between the hole and their position */
        for (;;) {
                Slot *s;
                size_t home;

                j = (j + 1) & mask;
                s = slot_at(t, j);
                if (s->family == 0)
                        break;
                home = slot_home(t, s);
                if (((j - home) & mask) >= ((j - i) & mask)) {
                        memcpy(slot_at(t, i), s, t->slot_size);
                        i = j;
                }
        }
        memset(slot_at(t, i), 0, t->slot_size);
        t->size--;
}

static int tracker_grow(Tracker *t) {
        size_t old_cap = t->capacity;
        uint8_t *old = t->slots;
        uint8_t *n;

        n = calloc(old_cap * 2, t->slot_size);
        if (!n)
                return -ENOMEM;
        t->slots = n;
        t->capacity = old_cap * 2;
        t->size = 0;
        for (size_t i = 0; i < old_cap; i++) {
                Slot *s = (Slot *) (old + i * t->slot_size);
                Addr a;
                bool found;
                size_t k;

                if (s->family == 0)
                        continue;
                slot_addr(s, &a);
                k = tracker_find(t, &a, &found);
                memcpy(slot_at(t, k), s, t->slot_size);
                t->size++;
        }
        free(old);
        return 0;
}

/* Drops failures older than the window; returns true when nothing is left. */
static bool slot_expire(const Tracker *t, Slot *s, int64_t now) {
        while (s->n > 0 && (int64_t) s->ts[s->head] < now - t->findtime) {
                s->head = (uint8_t) ((s->head + 1) % t->maxretry);
                s->n--;
        }
        return s->n == 0;
}

/* The table is full: evict the entry with the oldest newest-failure near addr's home slot. */
static void tracker_evict(Tracker *t, const Addr *a) {
        size_t mask = t->capacity - 1;
        size_t i = (size_t) addr_hash(a, t->seed) & mask;
        size_t victim = SIZE_MAX;
        uint32_t oldest = UINT32_MAX;

        for (size_t k = 0; k < t->capacity && (victim == SIZE_MAX || k < 16); k++, i = (i + 1) & mask) {
                Slot *s = slot_at(t, i);
                if (s->family == 0)
                        continue;
                if (victim == SIZE_MAX || slot_newest(t, s) < oldest) {
                        oldest = slot_newest(t, s);
                        victim = i;
                }
        }
        if (victim != SIZE_MAX)
                tracker_remove_at(t, victim);
}

int tracker_record(Tracker *t, const Addr *addr, int64_t t_sec) {
        Addr a = {};
        bool found;
        size_t i;
        Slot *s;

        if (!addr || (addr->family != AF_INET && addr->family != AF_INET6) || t_sec < 0 || t_sec > UINT32_MAX)
                return -EINVAL;
        /* the key is the whole 16 bytes: make sure an IPv4 address has no stray tail bytes */
        a.family = addr->family;
        memcpy(a.bytes, addr->bytes, addr_len(addr));

        if (t->maxretry == 1)
                return 1;

        i = tracker_find(t, &a, &found);
        if (!found) {
                if (t->size >= t->max_entries) {
                        tracker_evict(t, &a);
                        i = tracker_find(t, &a, &found);
                }
                /* 80% full at most: linear probing with a good hash stays short there, and 100,000
                 * addresses fit 131,072 slots instead of 262,144 */
                if ((t->size + 1) * 5 > t->capacity * 4) {
                        if (tracker_grow(t) < 0) {
                                /* no memory to grow: make room instead of failing the failure */
                                tracker_evict(t, &a);
                        }
                        i = tracker_find(t, &a, &found);
                }
                s = slot_at(t, i);
                memset(s, 0, t->slot_size);
                s->family = a.family;
                memcpy(s->bytes, a.bytes, 16);
                t->size++;
        } else
                s = slot_at(t, i);

        slot_expire(t, s, t_sec);
        if (s->n == t->maxretry) {
                /* cannot happen (we reset at maxretry), but never overflow the ring */
                s->head = (uint8_t) ((s->head + 1) % t->maxretry);
                s->n--;
        }
        s->ts[(s->head + s->n) % t->maxretry] = (uint32_t) t_sec;
        s->n++;
        if (s->n >= t->maxretry) {
                tracker_remove_at(t, i);
                return (int) t->maxretry;
        }
        return s->n;
}

void tracker_forget(Tracker *t, const Addr *addr) {
        Addr a = {};
        bool found;
        size_t i;

        a.family = addr->family;
        memcpy(a.bytes, addr->bytes, addr_len(addr));
        i = tracker_find(t, &a, &found);
        if (found)
                tracker_remove_at(t, i);
}

size_t tracker_gc(Tracker *t, int64_t now_sec) {
        size_t removed = 0;

        /* Walk backwards from an empty slot so that backward shifts never move an unvisited
         * entry behind the cursor. */
        for (size_t i = 0; i < t->capacity;) {
                Slot *s = slot_at(t, i);
                if (s->family != 0 && slot_expire(t, s, now_sec)) {
                        tracker_remove_at(t, i);
                        removed++;
                        continue; /* a shifted entry may now sit at i */
                }
                i++;
        }
        return removed;
}
