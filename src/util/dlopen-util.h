/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>

/* Libraries that only some configurations need (libcurl for AbuseIPDB reports, libnftables to load
 * the nft file when the table is missing) are loaded on first use, so that a daemon that never needs
 * them never maps them and their dependencies (OpenSSL, GnuTLS, Kerberos, LDAP, ... for libcurl):
 * about 8 MiB of the idle RSS with 10 jails.
 *
 * dlopen_many(soname, why, &handle, &sym1, "name1", &sym2, "name2", ..., NULL): dlopen() soname and
 * resolve every symbol into the function pointer before its name, all or nothing. Returns 0 on
 * success (*ret_handle owns the library), or -EOPNOTSUPP after logging an error that names the
 * library, the reason it was needed ("why") and dlerror(). Thread-safe as dlopen() is; callers
 * that share the pointers serialise the first call themselves (pthread_once). */
int dlopen_many(const char *soname, const char *why, void **ret_handle, ...) __attribute__((sentinel));

/* dlclose(handle) if non-NULL; returns NULL. */
void *dlclose_safe(void *handle);
