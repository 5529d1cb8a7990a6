/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>

/* Libraries that only some configurations need (libcurl for AbuseIPDB reports, libnftables to load
 * the nft file when the table is missing) are loaded on first use, so that a daemon that never needs
 * them never maps them and their dependencies (OpenSSL, GnuTLS, Kerberos, LDAP, ... for libcurl),
 * a large part of an idle daemon's resident memory.
 *
 * dlopen_many(soname, why, &handle, &sym1, "name1", &sym2, "name2", ..., NULL): dlopen() soname and
 * resolve every symbol into the function pointer before its name, all or nothing. Returns 0 on
 * success (*ret_handle owns the library; our callers keep it loaded for the life of the process),
 * or -EOPNOTSUPP after logging an error that names the library, the reason it was needed ("why")
 * and dlerror(), with every pointer NULL. Thread-safe as dlopen() is; callers that share the
 * pointers serialise the first call themselves (pthread_once). */
int dlopen_many(const char *soname, const char *why, void **ret_handle, ...) __attribute__((sentinel));

/* DLSYM_POINTER(f) declares "static typeof(f) *sym_f;", DLSYM_ARG(f) passes "&sym_f, "f"" to
 * dlopen_many(), as systemd does. */
#define DLSYM_POINTER(f) static typeof(f) *sym_##f
#define DLSYM_ARG(f) (void **) &sym_##f, #f
