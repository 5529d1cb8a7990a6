/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helper of test-fleet.sh: a plain NATS JetStream client, as a forger on the fleet's servers would
 * use one. fleet-pub URL USER PASSWORD SUBJECT PAYLOAD publishes PAYLOAD on SUBJECT and waits for
 * the stream's ack. Exit status 0 (acked), 1 (refused or no ack), 2 (usage). */
#include <stdio.h>
#include <string.h>

#include <nats/nats.h>

int main(int argc, char **argv) {
        natsConnection *nc = NULL;
        natsOptions *o = NULL;
        jsPubAck *pa = NULL;
        jsErrCode jerr = 0;
        jsPubOptions po;
        jsCtx *js = NULL;
        natsStatus s;

        if (argc != 6) {
                fprintf(stderr, "usage: fleet-pub URL USER PASSWORD SUBJECT PAYLOAD\n");
                return 2;
        }
        s = natsOptions_Create(&o);
        if (s == NATS_OK)
                s = natsOptions_SetURL(o, argv[1]);
        if (s == NATS_OK)
                s = natsOptions_SetUserInfo(o, argv[2], argv[3]);
        if (s == NATS_OK)
                s = natsConnection_Connect(&nc, o);
        if (s == NATS_OK)
                s = natsConnection_JetStream(&js, nc, NULL);
        if (s == NATS_OK) {
                jsPubOptions_Init(&po);
                po.MaxWait = 2000;
                s = js_Publish(&pa, js, argv[4], argv[5], (int) strlen(argv[5]), &po, &jerr);
        }
        if (s != NATS_OK)
                fprintf(stderr, "fleet-pub: %s (%s, error %d)\n", natsStatus_GetText(s), nats_GetLastError(NULL) ?: "-", (int) jerr);
        else
                printf("seq %llu\n", (unsigned long long) pa->Sequence);
        jsPubAck_Destroy(pa);
        jsCtx_Destroy(js);
        natsConnection_Destroy(nc);
        natsOptions_Destroy(o);
        return s == NATS_OK ? 0 : 1;
}
