/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Fixed MESSAGE_IDs of nftjail's key events; the README's troubleshooting section lists them with
 * their fields. Never change one. */
#define NFTJAIL_MID_BAN        "4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b01"
#define NFTJAIL_MID_UNBAN      "4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b02"
#define NFTJAIL_MID_BAN_FAILED "4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b03"
#define NFTJAIL_MID_FAILURE    "4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b04"
#define NFTJAIL_MID_START      "4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b05"
#define NFTJAIL_MID_STOP       "4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b06"
#define NFTJAIL_MID_CONFIG_ERR "4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b07"
#define NFTJAIL_MID_RELOADED   "4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b08"
#define NFTJAIL_MID_REPORT_SENT   "4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b09"
#define NFTJAIL_MID_REPORT_FAILED "4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b0a"
#define NFTJAIL_MID_WEBHOOK_SENT   "4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b0b"
#define NFTJAIL_MID_WEBHOOK_FAILED "4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b0c"
#define NFTJAIL_MID_WOULD_BAN      "4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b0d"
#define NFTJAIL_MID_SOURCE_ROTATED "4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b20"
#define NFTJAIL_MID_FLEET_CONNECTED    "4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b30"
#define NFTJAIL_MID_FLEET_DISCONNECTED "4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b31"
#define NFTJAIL_MID_FLEET_REFUSED      "4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b32"
#define NFTJAIL_MID_FLEET_BACKLOG      "4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b33"
#define NFTJAIL_MID_FLEET_CATCHUP      "4e6a0b1f8a3c4d2f9b7e1c5d3a2f6b34"
