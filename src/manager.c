/* SPDX-License-Identifier: GPL-2.0-or-later */
/* stub: to be written */
