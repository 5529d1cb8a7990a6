/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "ban.h"

static const char *const ban_skip_table[_BAN_SKIP_MAX] = {
        [BAN_OK] = "ok",
        [BAN_SKIP_LOOPBACK] = "loopback",
        [BAN_SKIP_IGNOREIP] = "ignoreip",
        [BAN_SKIP_SELF] = "ignoreself",
};

const char *ban_skip_to_string(BanSkip s) {
        return s >= 0 && s < _BAN_SKIP_MAX ? ban_skip_table[s] : NULL;
}

BanSkip ban_allowed(const JailConf *j, const Addr *a, const Addr *self, size_t n_self) {
        if (addr_is_loopback(a))
                return BAN_SKIP_LOOPBACK;
        for (size_t i = 0; i < j->n_ignoreip; i++)
                if (addr_prefix_contains(&j->ignoreip[i], a))
                        return BAN_SKIP_IGNOREIP;
        if (j->ignoreself)
                for (size_t i = 0; i < n_self; i++)
                        if (addr_equal(&self[i], a))
                                return BAN_SKIP_SELF;
        return BAN_OK;
}

size_t ban_elems(const JailConf *j, const Addr *addr, uint64_t timeout_ms, NftElem *out, size_t max) {
        return ban_elems_self(j, addr, NULL, 0, timeout_ms, out, max);
}

size_t ban_elems_self(const JailConf *j, const Addr *addr, const Addr *self, size_t n_self, uint64_t timeout_ms,
                      NftElem *out, size_t max) {
        uint8_t plen = addr->family == AF_INET6 && j->ipv6_prefix ? j->ipv6_prefix : 128;
        Addr masked = *addr, *a = &masked;
        size_t n = 0;

        /* IPv6: the whole prefix of the attacker (its /64 by default), keyed by its first address;
         * but one address only when the prefix would take in an ignoreip network or, with ignoreself,
         * an address of this host (an attacker on the host's own /64) */
        if (addr->family == AF_INET6 && plen < 128) {
                AddrPrefix ban;

                addr_mask(&masked, plen);
                ban = (AddrPrefix) { .addr = masked, .prefixlen = plen };
                bool shrink = false;

                for (size_t i = 0; i < j->n_ignoreip && !shrink; i++)
                        shrink = j->ignoreip[i].addr.family == AF_INET6 &&
                                 (addr_prefix_contains(&ban, &j->ignoreip[i].addr) || addr_prefix_contains(&j->ignoreip[i], &masked));
                for (size_t i = 0; j->ignoreself && i < n_self && !shrink; i++)
                        shrink = self[i].family == AF_INET6 && addr_prefix_contains(&ban, &self[i]);
                if (shrink) {
                        masked = *addr;
                        plen = 128;
                }
        }

        if (j->allports || j->n_ports == 0) {
                if (max < 1)
                        return 0;
                out[n++] = (NftElem) {
                        .addr = *a, .prefixlen = plen, .port = 0, .timeout_ms = timeout_ms, .comment = j->name,
                };
                return n;
        }
        for (size_t i = 0; i < j->n_ports && n < max; i++)
                out[n++] = (NftElem) {
                        .addr = *a,
                        .prefixlen = plen,
                        .proto = j->protocol,
                        .port = j->ports[i],
                        .timeout_ms = timeout_ms,
                        .comment = j->name,
                };
        return n;
}

int64_t ban_time_clamp(int64_t bantime_sec) {
        return bantime_sec < 0 ? bantime_sec : MIN(bantime_sec, NFTJAIL_BANTIME_MAX_SEC);
}

uint64_t ban_timeout_ms(int64_t bantime_sec) {
        return bantime_sec < 0 ? 0 : (uint64_t) ban_time_clamp(bantime_sec) * 1000U;
}

usec_t ban_expiry(usec_t now, int64_t bantime_sec) {
        usec_t span;

        if (bantime_sec < 0)
                return USEC_INFINITY;
        span = (usec_t) ban_time_clamp(bantime_sec) * USEC_PER_SEC;
        return now >= USEC_INFINITY - 1 - span ? USEC_INFINITY - 1 : now + span;
}

int64_t ban_end_sec(int64_t now, int64_t bantime_sec) {
        int64_t span;

        if (bantime_sec < 0)
                return INT64_MAX;
        span = ban_time_clamp(bantime_sec);
        return now >= INT64_MAX - 1 - span ? INT64_MAX - 1 : now + span;
}

bool ban_jail_owns_elem(const JailConf *jc, const NftElem *e) {
        if (jc->allports || jc->n_ports == 0)
                return e->port == 0;
        if (e->port == 0 || e->proto != jc->protocol)
                return false;
        for (size_t i = 0; i < jc->n_ports; i++)
                if (jc->ports[i] == e->port)
                        return true;
        return false;
}

typedef struct BanEntry {
        Addr addr;              /* family 0: empty; SLOT_MOVED: gone from the draining table */
        uint8_t proto;
        uint8_t prefixlen;      /* IPv6: of the element (128 = one address); IPv4: 32 */
        bool interval_set;
        uint16_t port;
        uint16_t comment;       /* index in BanMap.comments + 1; 0: none */
        uint64_t timeout_ms;    /* as given to the kernel; 0: permanent */
        usec_t expiry;
} BanEntry;

#define BAN_COMMENTS_MAX UINT16_MAX
#define SLOT_MOVED 0xffU
/* Slots of the draining table moved on per ban_map_set(). Growing starts at 70% of its capacity
 * C, the next at 70% of 2C, at least 0.7 C sets later; C / 8 sets drain it well before. */
#define MIGRATE_STEP 8U

/* Growing is incremental, as the tracker's: the full table becomes `old` and drains into one of
 * twice its size a few slots per set (rehashing 734,000 bans at once held the loop 95 ms). An
 * element is in exactly one of the two; one found in old is moved before it changes, one removed
 * from old becomes SLOT_MOVED (old's probe chains stay whole; nothing is added to old). */
struct BanMap {
        BanEntry *v;
        size_t capacity;        /* power of two */
        BanEntry *old;          /* NULL: not growing */
        size_t old_capacity;
        size_t migrate_pos;     /* old's slots below it have been moved on */
        size_t size;            /* in both */
        size_t n_v6_prefix[129]; /* IPv6 entries per prefix length, for ban_map_v6_conflict() */
        uint64_t seed;
        /* the comments (jail names) seen, each once: a few per configuration, kept until the map
         * is freed so that what ban_map_next() hands out stays valid across a reload */
        char **comments;
        size_t n_comments;
        uint64_t generation;    /* changes with every entry set or removed */
        /* ban_map_count() without a walk: the entries with expiry > live_from are counted in
         * n_live, and all of them expire at live_until or later; the others expired at live_from
         * or before. So for a time in [live_from, live_until) the answer is n_live, kept up to date
         * as entries come and go; outside it, one walk sets the three again (also at each gc). */
        size_t n_live;
        usec_t live_from, live_until;
};

static inline bool entry_live(const BanEntry *x) {
        return x->addr.family != 0 && x->addr.family != SLOT_MOVED;
}

/* Every slot of both tables in one index space: old's first, then the current one's. */
static inline size_t slots_total(const BanMap *m) {
        return (m->old ? m->old_capacity : 0) + m->capacity;
}

static inline BanEntry *slot(const BanMap *m, size_t k) {
        size_t oc = m->old ? m->old_capacity : 0;

        return k < oc ? &m->old[k] : &m->v[k - oc];
}

int ban_map_new(BanMap **ret) {
        BanMap *m = calloc(1, sizeof *m);

        if (!m)
                return -ENOMEM;
        m->capacity = 64;
        m->v = calloc(m->capacity, sizeof *m->v);
        if (!m->v) {
                free(m);
                return -ENOMEM;
        }
        if (getrandom(&m->seed, sizeof m->seed, GRND_NONBLOCK) != sizeof m->seed)
                m->seed = (uint64_t) (uintptr_t) m;
        m->live_until = USEC_INFINITY;
        *ret = m;
        return 0;
}

BanMap *ban_map_free(BanMap *m) {
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->n_comments; i++)
                free(m->comments[i]);
        free(m->comments);
        free(m->old);
        free(m->v);
        free(m);
        return NULL;
}

static inline bool entry_is(const BanEntry *x, const Addr *a, uint8_t proto, uint16_t port) {
        return x->port == port && x->proto == proto && addr_equal(&x->addr, a);
}

static inline size_t entry_hash(const BanMap *m, const Addr *a, uint8_t proto, uint16_t port) {
        return (size_t) addr_hash(a, m->seed ^ ((uint64_t) proto << 16 | port));
}

/* All-ports elements have no protocol: normalise so that one element has one key. */
static inline uint8_t key_proto(const NftElem *e) {
        return e->port ? e->proto : 0;
}

static inline uint8_t elem_prefixlen(const NftElem *e) {
        if (e->addr.family != AF_INET6)
                return 32;
        return e->prefixlen == 0 || e->prefixlen > 128 ? 128 : e->prefixlen;
}

/* In the table v of cap slots: the key's index, or the empty slot where it would go. */
static size_t table_find(const BanMap *m, const BanEntry *v, size_t cap, const Addr *a, uint8_t proto, uint16_t port,
                         bool *found) {
        size_t mask = cap - 1;
        size_t i = entry_hash(m, a, proto, port) & mask;

        while (v[i].addr.family != 0) {
                if (entry_is(&v[i], a, proto, port)) {
                        *found = true;
                        return i;
                }
                i = (i + 1) & mask;
        }
        *found = false;
        return i;
}

/* The key's entry in either table, or NULL. */
static const BanEntry *ban_map_lookup(const BanMap *m, const Addr *a, uint8_t proto, uint16_t port) {
        bool found;
        size_t i;

        if (m->old) {
                i = table_find(m, m->old, m->old_capacity, a, proto, port, &found);
                if (found)
                        return &m->old[i];
        }
        i = table_find(m, m->v, m->capacity, a, proto, port, &found);
        return found ? &m->v[i] : NULL;
}

usec_t ban_map_get(const BanMap *m, const NftElem *e, usec_t now) {
        const BanEntry *x = ban_map_lookup(m, &e->addr, key_proto(e), e->port);

        return x && x->expiry > now ? x->expiry : 0;
}

/* Moves old's live slot i into the current table (where its key cannot be yet); its new index. */
static size_t move_on(BanMap *m, size_t i) {
        BanEntry *x = &m->old[i];
        bool found;
        size_t k = table_find(m, m->v, m->capacity, &x->addr, x->proto, x->port, &found);

        m->v[k] = *x;
        x->addr.family = SLOT_MOVED;
        return k;
}

static void migrate(BanMap *m, size_t steps) {
        while (m->old && steps-- > 0) {
                if (entry_live(&m->old[m->migrate_pos]))
                        (void) move_on(m, m->migrate_pos);
                if (++m->migrate_pos == m->old_capacity) {
                        free(m->old);
                        m->old = NULL;
                        m->old_capacity = m->migrate_pos = 0;
                }
        }
}

/* A table of cap slots (a power of two, above the entries) holding everything, at once. */
static int rehash(BanMap *m, size_t cap) {
        BanEntry *n;

        migrate(m, SIZE_MAX);
        n = calloc(cap, sizeof *n);
        if (!n)
                return -ENOMEM;
        for (size_t i = 0; i < m->capacity; i++) {
                bool found;
                if (m->v[i].addr.family == 0)
                        continue;
                n[table_find(m, n, cap, &m->v[i].addr, m->v[i].proto, m->v[i].port, &found)] = m->v[i];
        }
        free(m->v);
        m->v = n;
        m->capacity = cap;
        return 0;
}

/* Starts draining the full table into one twice its size (a fresh mapping: the kernel zeroes its
 * pages as the moves first touch them). */
static int grow_start(BanMap *m) {
        BanEntry *n;

        migrate(m, SIZE_MAX); /* never due while one drains (MIGRATE_STEP); should it be, finish */
        n = calloc(m->capacity * 2, sizeof *n);
        if (!n)
                return -ENOMEM;
        m->old = m->v;
        m->old_capacity = m->capacity;
        m->migrate_pos = 0;
        m->v = n;
        m->capacity *= 2;
        return 0;
}

/* The index + 1 of comment c in m->comments, added when new; 0 for none, or when out of memory or
 * of indexes (the entry then has no comment: only a listing shows less). */
static uint16_t ban_map_comment(BanMap *m, const char *c) {
        char **v;

        if (!c || !c[0])
                return 0;
        for (size_t i = m->n_comments; i-- > 0;)
                if (strcmp(m->comments[i], c) == 0)
                        return (uint16_t) (i + 1);
        if (m->n_comments >= BAN_COMMENTS_MAX)
                return 0;
        v = realloc(m->comments, (m->n_comments + 1) * sizeof *v);
        if (!v)
                return 0;
        m->comments = v;
        v[m->n_comments] = strdup(c);
        if (!v[m->n_comments])
                return 0;
        return (uint16_t) ++m->n_comments;
}

static void live_count(BanMap *m, usec_t expiry) {
        if (expiry > m->live_from) {
                m->n_live++;
                m->live_until = MIN(m->live_until, expiry);
        }
}

static void live_uncount(BanMap *m, usec_t expiry) {
        if (expiry > m->live_from)
                m->n_live--;
}

/* What an entry leaving the map takes from the counts. */
static void entry_leaves(BanMap *m, const BanEntry *x) {
        if (x->addr.family == AF_INET6)
                m->n_v6_prefix[x->prefixlen]--;
        live_uncount(m, x->expiry);
        m->size--;
        m->generation++;
}

int ban_map_set(BanMap *m, const NftElem *e, usec_t expiry) {
        uint8_t proto = key_proto(e);
        bool found = false;
        size_t i = 0;

        migrate(m, MIGRATE_STEP);
        if (m->old) {
                i = table_find(m, m->old, m->old_capacity, &e->addr, proto, e->port, &found);
                if (found)
                        i = move_on(m, i);
        }
        if (!found)
                i = table_find(m, m->v, m->capacity, &e->addr, proto, e->port, &found);
        if (!found && (m->size + 1) * 10 > m->capacity * 7) {
                /* a new entry and the table is full: it goes into the next one */
                int r = grow_start(m);
                if (r < 0)
                        return r;
                i = table_find(m, m->v, m->capacity, &e->addr, proto, e->port, &found);
        }
        if (found)
                live_uncount(m, m->v[i].expiry);
        live_count(m, expiry);
        if (!found) {
                m->v[i].addr = (Addr) { .family = e->addr.family };
                memcpy(m->v[i].addr.bytes, e->addr.bytes, addr_len(&e->addr));
                m->v[i].proto = proto;
                m->v[i].port = e->port;
                m->v[i].prefixlen = elem_prefixlen(e);
                if (e->addr.family == AF_INET6)
                        m->n_v6_prefix[m->v[i].prefixlen]++;
                m->size++;
        }
        m->v[i].expiry = expiry;
        m->v[i].timeout_ms = e->timeout_ms;
        m->v[i].interval_set = e->interval_set;
        m->v[i].comment = ban_map_comment(m, e->comment);
        m->generation++;
        return 0;
}

/* Removes the current table's slot i: backward-shift deletion, no tombstones. */
static void ban_map_remove_at(BanMap *m, size_t i) {
        size_t mask = m->capacity - 1;
        size_t j = i;

        entry_leaves(m, &m->v[i]);
        for (;;) {
                size_t home;

                j = (j + 1) & mask;
                if (m->v[j].addr.family == 0)
                        break;
                home = entry_hash(m, &m->v[j].addr, m->v[j].proto, m->v[j].port) & mask;
                if (((j - home) & mask) >= ((j - i) & mask)) {
                        m->v[i] = m->v[j];
                        i = j;
                }
        }
        m->v[i] = (BanEntry) {};
}

/* Removes old's live slot i: marked moved, so that old's probe chains stay whole. */
static void ban_map_remove_old(BanMap *m, size_t i) {
        entry_leaves(m, &m->old[i]);
        m->old[i].addr.family = SLOT_MOVED;
}

void ban_map_remove(BanMap *m, const NftElem *e) {
        uint8_t proto = key_proto(e);
        bool found;
        size_t i;

        if (m->old) {
                i = table_find(m, m->old, m->old_capacity, &e->addr, proto, e->port, &found);
                if (found) {
                        ban_map_remove_old(m, i);
                        return;
                }
        }
        i = table_find(m, m->v, m->capacity, &e->addr, proto, e->port, &found);
        if (found)
                ban_map_remove_at(m, i);
}

size_t ban_map_size(const BanMap *m) {
        return m->size;
}

uint64_t ban_map_generation(const BanMap *m) {
        return m->generation;
}

/* Counts the entries live at now and where that count holds (see BanMap.n_live). */
static void live_recount(BanMap *m, usec_t now) {
        m->n_live = 0;
        m->live_from = now;
        m->live_until = USEC_INFINITY;
        for (size_t k = 0; k < slots_total(m); k++) {
                const BanEntry *x = slot(m, k);
                if (entry_live(x) && x->expiry > now) {
                        m->n_live++;
                        m->live_until = MIN(m->live_until, x->expiry);
                }
        }
}

size_t ban_map_count(BanMap *m, usec_t now) {
        if (now < m->live_from || now >= m->live_until)
                live_recount(m, now);
        return m->n_live;
}

size_t ban_map_gc(BanMap *m, usec_t now) {
        size_t removed = 0;
        usec_t until = USEC_INFINITY;

        for (size_t i = m->migrate_pos; m->old && i < m->old_capacity; i++) {
                if (!entry_live(&m->old[i]))
                        continue;
                if (m->old[i].expiry <= now) {
                        ban_map_remove_old(m, i);
                        removed++;
                } else
                        until = MIN(until, m->old[i].expiry);
        }
        for (size_t i = 0; i < m->capacity;) {
                if (m->v[i].addr.family != 0 && m->v[i].expiry <= now) {
                        ban_map_remove_at(m, i);
                        removed++;
                        continue;
                }
                if (m->v[i].addr.family != 0)
                        until = MIN(until, m->v[i].expiry);
                i++;
        }
        /* what is left is live at now, and each entry left was looked at once at least */
        m->n_live = m->size;
        m->live_from = now;
        m->live_until = until;
        return removed;
}

bool ban_map_next(const BanMap *m, size_t *iter, NftElem *ret, usec_t *ret_expiry) {
        for (size_t k = *iter; k < slots_total(m); k++) {
                const BanEntry *x = slot(m, k);

                if (!entry_live(x))
                        continue;
                *ret = (NftElem) {
                        .addr = x->addr, .prefixlen = x->prefixlen, .proto = x->proto, .port = x->port,
                        .timeout_ms = x->timeout_ms, .interval_set = x->interval_set,
                        .comment = x->comment ? m->comments[x->comment - 1] : NULL,
                };
                *ret_expiry = x->expiry;
                *iter = k + 1;
                return true;
        }
        *iter = slots_total(m);
        return false;
}

bool ban_elem_contains(const NftElem *e, const Addr *a) {
        AddrPrefix p = { .addr = e->addr, .prefixlen = elem_prefixlen(e) };

        if (e->addr.family != AF_INET6)
                return addr_equal(&e->addr, a);
        return addr_prefix_contains(&p, a);
}

bool ban_map_v6_conflict(const BanMap *m, const NftElem *e, usec_t now) {
        uint8_t p = elem_prefixlen(e), proto = key_proto(e);
        bool scan = false;

        if (e->addr.family != AF_INET6)
                return false;
        for (unsigned q = 1; q <= 128; q++) {
                Addr k = e->addr;
                const BanEntry *x;

                if (q == p || m->n_v6_prefix[q] == 0)
                        continue;
                if (q > p) {
                        scan = true; /* a narrower ban inside ours: only a walk finds it */
                        continue;
                }
                addr_mask(&k, q);
                x = ban_map_lookup(m, &k, proto, e->port);
                if (x && x->expiry > now && x->prefixlen == q)
                        return true; /* covered by a wider live ban */
        }
        if (!scan)
                return false;
        for (size_t k = 0; k < slots_total(m); k++) {
                const BanEntry *x = slot(m, k);
                AddrPrefix ours = { .addr = e->addr, .prefixlen = p };

                if (entry_live(x) && x->addr.family == AF_INET6 && x->prefixlen > p && x->expiry > now &&
                    x->proto == proto && x->port == e->port && addr_prefix_contains(&ours, &x->addr))
                        return true;
        }
        return false;
}

/* Sized in one step for n more entries, so that filling it (a restore of a million bans) does not
 * hold two tables at each doubling; an empty or small table (a restore at start) costs little. */
int ban_map_reserve(BanMap *m, size_t n) {
        size_t cap = m->capacity;

        while ((m->size + n + 1) * 10 > cap * 7)
                cap *= 2;
        if (cap == m->capacity) {
                migrate(m, SIZE_MAX);
                return 0;
        }
        return rehash(m, cap);
}
