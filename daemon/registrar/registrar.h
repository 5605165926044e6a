/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KSIP_REGISTRAR_H
#define KSIP_REGISTRAR_H

#include "dispatch.h"

/* Answer a REGISTER (already validated by sip_core) into O. */
void registrar_handle(struct sip_ctx *c, const struct sip_msg *m, const struct sip_source *src,
		      struct sip_out *o);

#endif
