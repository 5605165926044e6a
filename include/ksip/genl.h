/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace client of the ksip generic netlink family (libnl-genl-3):
 * used by ksipctl and ksipd. Every call returns 0 or a negative errno and
 * fills ERR with the kernel's extack message when it sent one.
 */
#ifndef KSIP_GENL_H
#define KSIP_GENL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ksip/endpoint.h"
#include "uapi/linux/ksip.h"

struct ksip_genl;

/* An extra output of a flow (KSIP_CMD_FLOW_SET). */
struct ksip_flow_output {
	struct sockaddr_storage source, peer;
	uint64_t packets, bytes, dropped;	/* reported by the kernel */
};

struct ksip_flow_spec {
	struct sockaddr_storage local, source, peer, expect, latched;
	bool has_expect, has_latched;
	uint32_t flags;		/* KSIP_FLOW_F_* */
	uint32_t timeout;
	uint8_t dscp;
	unsigned int noutputs;	/* extra outputs; FLOW_NEW sends them too */
	struct ksip_flow_output outputs[KSIP_FLOW_OUTPUTS_MAX];
	/* reported by the kernel */
	uint64_t packets, bytes, dropped, idle_ms;
};

struct ksip_kstats {
	uint32_t flows;
	uint64_t forwarded, bytes, drop_source, no_route, drop_error, latched, expired;
};

/* The SIP guard: ports and framing verdict counters (index: enum ksip_guard_counter). */
struct ksip_guard_info {
	unsigned int nports;
	uint16_t ports[KSIP_GUARD_MAX_PORTS];
	uint64_t counters[KSIP_GUARD_CNT_MAX + 1];	/* [KSIP_GUARD_CNT_UNSPEC] stays 0 */
};

#define KSIP_GENL_ERRLEN 256

/* NULL with "ksip kernel module not loaded" (or why) in err. */
struct ksip_genl *ksip_genl_open(char *err, size_t errlen);
void ksip_genl_close(struct ksip_genl *g);

int ksip_genl_flow_add(struct ksip_genl *g, const struct ksip_flow_spec *f, char *err, size_t errlen);
int ksip_genl_flow_del(struct ksip_genl *g, const struct sockaddr_storage *local, char *err,
		       size_t errlen);
int ksip_genl_flow_get(struct ksip_genl *g, const struct sockaddr_storage *local,
		       struct ksip_flow_spec *out, char *err, size_t errlen);
int ksip_genl_flow_dump(struct ksip_genl *g, void (*fn)(void *ctx, const struct ksip_flow_spec *f),
			void *ctx, char *err, size_t errlen);
/* Replace the extra outputs of the flow at LOCAL (N = 0: none). */
int ksip_genl_flow_set_outputs(struct ksip_genl *g, const struct sockaddr_storage *local,
			       const struct ksip_flow_output *outputs, unsigned int n, char *err,
			       size_t errlen);
int ksip_genl_flow_flush(struct ksip_genl *g, char *err, size_t errlen);
int ksip_genl_stats(struct ksip_genl *g, struct ksip_kstats *st, char *err, size_t errlen);
/* No ports turns the check off. */
int ksip_genl_guard_set(struct ksip_genl *g, const uint16_t *ports, unsigned int n, char *err,
			size_t errlen);
int ksip_genl_guard_get(struct ksip_genl *g, struct ksip_guard_info *out, char *err, size_t errlen);

#endif
