/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <nats/nats.h>

/* nats.c (libnats), loaded with dlopen() when a fleet starts: a daemon without [fleet] never maps
 * it, nor the OpenSSL it pulls in (idle with 10 jails: 1.8 MiB of RSS, 0.75 MiB of PSS, 0.5 MiB of
 * anonymous memory, most of it OpenSSL's). The fleet compiles against nats.h for its types and
 * constants and calls the library only through this table. */

/* Every function of nats.c the fleet calls; the link of nftjaild fails on any other, which is the
 * reminder to add it here. */
#define FLEET_NATS_FUNCTIONS(X)                         \
        X(jsCtx_Destroy)                                \
        X(jsMsgMetaData_Destroy)                        \
        X(jsOptions_Init)                               \
        X(jsPubOptions_Init)                            \
        X(jsStreamConfig_Init)                          \
        X(jsStreamInfo_Destroy)                         \
        X(jsSubOptions_Init)                            \
        X(js_AddStream)                                 \
        X(js_GetStreamInfo)                             \
        X(js_PublishAsyncComplete)                      \
        X(js_PublishAsyncGetPendingList)                \
        X(js_PublishMsgAsync)                           \
        X(js_Subscribe)                                 \
        X(natsConnection_Close)                         \
        X(natsConnection_Connect)                       \
        X(natsConnection_Destroy)                       \
        X(natsConnection_GetConnectedUrl)               \
        X(natsConnection_JetStream)                     \
        X(natsConnection_Status)                        \
        X(natsMsgHeader_Get)                            \
        X(natsMsgList_Destroy)                          \
        X(natsMsg_Create)                               \
        X(natsMsg_Destroy)                              \
        X(natsMsg_GetData)                              \
        X(natsMsg_GetDataLength)                        \
        X(natsMsg_GetMetaData)                          \
        X(natsMsg_GetSubject)                           \
        X(natsOptions_Create)                           \
        X(natsOptions_Destroy)                          \
        X(natsOptions_LoadCATrustedCertificates)        \
        X(natsOptions_LoadCertificatesChain)            \
        X(natsOptions_SetClosedCB)                      \
        X(natsOptions_SetDisconnectedCB)                \
        X(natsOptions_SetMaxReconnect)                  \
        X(natsOptions_SetName)                          \
        X(natsOptions_SetPingInterval)                  \
        X(natsOptions_SetReconnectWait)                 \
        X(natsOptions_SetReconnectedCB)                 \
        X(natsOptions_SetRetryOnFailedConnect)          \
        X(natsOptions_SetSecure)                        \
        X(natsOptions_SetServers)                       \
        X(natsOptions_SetTimeout)                       \
        X(natsOptions_SetUserCredentialsFromFiles)      \
        X(natsOptions_SetUserInfo)                      \
        X(natsStatus_GetText)                           \
        X(natsSubscription_Destroy)                     \
        X(natsSubscription_SetOnCompleteCB)             \
        X(nats_GetLastError)

#define FLEET_NATS_MEMBER(fn) typeof(fn) *fn;
/* One pointer per function, named as it: n->natsMsg_Destroy(msg). */
typedef struct FleetNats {
        FLEET_NATS_FUNCTIONS(FLEET_NATS_MEMBER)
} FleetNats;
#undef FLEET_NATS_MEMBER

/* Main thread. Loads the library (its build-time soname, or the file named by the environment
 * variable NFTJAIL_LIBNATS, for tests) and resolves every function, all or nothing. The library
 * stays loaded for the life of the process once loaded (nats.c keeps threads and OpenSSL state of
 * its own). Returns 0 and the table, or -EOPNOTSUPP after logging an error that names the
 * library, the package that holds it and dlerror() (or the missing symbol); a later call tries
 * again (the package installed in between, then a reload). */
int fleet_nats_load(const FleetNats **ret);

/* The text of nats.c's last error on this thread, else of s. */
const char *fleet_nats_error(const FleetNats *n, natsStatus s);
