/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "util/macro.h"
#include "worker.h"

#define IDLE_WAIT_USEC (60 * USEC_PER_SEC)

struct Worker {
        WorkerUnrefFunc unref;
        pthread_t thread;

        /* under lock */
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool stopping, kick;
        void *next;             /* settings for the thread, taken between two requests */

        atomic_bool abort_transfer;
};

int worker_new(WorkerUnrefFunc unref, Worker **ret) {
        pthread_condattr_t ca;
        Worker *w = calloc(1, sizeof *w);

        if (!w)
                return -ENOMEM;
        w->unref = unref;
        pthread_mutex_init(&w->lock, NULL);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&w->cond, &ca);
        pthread_condattr_destroy(&ca);
        *ret = w;
        return 0;
}

Worker *worker_free(Worker *w) {
        if (!w)
                return NULL;
        w->unref(w->next);
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->cond);
        free(w);
        return NULL;
}

int worker_start(Worker *w, void *(*fn)(void *), void *userdata, void *settings) {
        int k;

        pthread_mutex_lock(&w->lock);
        w->stopping = false;
        w->unref(w->next);
        w->next = settings;
        pthread_mutex_unlock(&w->lock);
        atomic_store(&w->abort_transfer, false);
        k = pthread_create(&w->thread, NULL, fn, userdata);
        return k == 0 ? 0 : -k;
}

void worker_request_stop(Worker *w) {
        pthread_mutex_lock(&w->lock);
        w->stopping = true;
        pthread_cond_broadcast(&w->cond);
        pthread_mutex_unlock(&w->lock);
}

int worker_stop_join(Worker *w, unsigned timeout_sec) {
        struct timespec ts;

        worker_request_stop(w);
        atomic_store(&w->abort_transfer, true);
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += timeout_sec;
        if (pthread_timedjoin_np(w->thread, NULL, &ts) != 0) {
                (void) pthread_detach(w->thread);
                return -ETIMEDOUT;
        }
        return 0;
}

void worker_join(Worker *w) {
        (void) pthread_join(w->thread, NULL);
}

void worker_hand(Worker *w, void *settings) {
        pthread_mutex_lock(&w->lock);
        w->unref(w->next); /* not taken yet: these replace them */
        w->next = settings;
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->lock);
}

void worker_wake(Worker *w) {
        pthread_mutex_lock(&w->lock);
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->lock);
}

void worker_kick(Worker *w) {
        pthread_mutex_lock(&w->lock);
        w->kick = true;
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->lock);
}

void *worker_take(Worker *w, void *cur, bool *ret_changed) {
        void *n;

        pthread_mutex_lock(&w->lock);
        n = TAKE_PTR(w->next);
        pthread_mutex_unlock(&w->lock);
        if (ret_changed)
                *ret_changed = n;
        if (!n)
                return cur;
        w->unref(cur);
        return n;
}

void worker_wait_until(Worker *w, usec_t t, bool (*pending)(void *userdata), void *userdata) {
        usec_t now = now_usec(CLOCK_REALTIME);
        struct timespec ts;
        usec_t m;

        if (t <= now)
                return;
        m = now_usec(CLOCK_MONOTONIC) + MIN(t - now, IDLE_WAIT_USEC);
        ts.tv_sec = (time_t) (m / USEC_PER_SEC);
        ts.tv_nsec = (long) (m % USEC_PER_SEC) * 1000;
        pthread_mutex_lock(&w->lock);
        if (!w->kick && !w->stopping && !w->next && !(pending && pending(userdata)))
                (void) pthread_cond_timedwait(&w->cond, &w->lock, &ts);
        w->kick = false;
        pthread_mutex_unlock(&w->lock);
}

atomic_bool *worker_abort_flag(Worker *w) {
        return &w->abort_transfer;
}

void worker_lock(Worker *w) {
        pthread_mutex_lock(&w->lock);
}

void worker_unlock(Worker *w) {
        pthread_mutex_unlock(&w->lock);
}

bool worker_stopping(const Worker *w) {
        return w->stopping;
}
