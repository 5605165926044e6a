// SPDX-License-Identifier: GPL-2.0
#include "store/local_addrs.h"

#include <netinet/in.h>
#include <string.h>

#include "base/log.h"
#include "ksip/endpoint.h"

void local_addrs_init(struct local_addrs *t)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
}

void local_addrs_destroy(struct local_addrs *t)
{
	pthread_mutex_destroy(&t->lock);
}

/* SA reduced to what a binding kept before: family, address, port (no scope, no flow label). */
static bool normalise(const struct sockaddr *sa, struct sockaddr_storage *out)
{
	memset(out, 0, sizeof(*out));
	if (!sa)
		return false;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		struct sockaddr_in *o = (struct sockaddr_in *)out;

		o->sin_family = AF_INET;
		o->sin_addr = in->sin_addr;
		o->sin_port = in->sin_port;
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in = (const struct sockaddr_in6 *)sa;
		struct sockaddr_in6 *o = (struct sockaddr_in6 *)out;

		o->sin6_family = AF_INET6;
		o->sin6_addr = in->sin6_addr;
		o->sin6_port = in->sin6_port;
		return true;
	}
	return false;
}

uint8_t local_addrs_number(struct local_addrs *t, const struct sockaddr *sa)
{
	struct sockaddr_storage want;
	uint8_t num = 0;

	if (!normalise(sa, &want))
		return 0;
	pthread_mutex_lock(&t->lock);
	/* Linear: a handful of entries in practice, 255 at the very most. */
	for (unsigned int i = 0; i < t->n && !num; i++)
		if (ksip_endpoint_equal(&t->ep[i], &want))
			num = (uint8_t)(i + 1);
	if (!num && t->n < LOCAL_ADDRS_MAX) {
		t->ep[t->n] = want;
		num = (uint8_t)++t->n;
	} else if (!num && !t->full_logged) {
		t->full_logged = true;
		log_warn("location: more than %d local addresses took REGISTERs; new bindings on "
			 "others keep none (replies leave from the routing's choice)", LOCAL_ADDRS_MAX);
	}
	pthread_mutex_unlock(&t->lock);
	return num;
}

void local_addrs_get(const struct local_addrs *t, uint8_t num, struct sockaddr_storage *out)
{
	if (!num) {
		memset(out, 0, sizeof(*out));
		return;
	}
	*out = t->ep[num - 1];
}
