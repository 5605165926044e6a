/* SPDX-License-Identifier: GPL-2.0 */
/* What an epoll event of a worker refers to. Embedded first in its owner. */
#ifndef KSIP_EVLOOP_H
#define KSIP_EVLOOP_H

enum ep_kind { EP_UDP, EP_TCP_LISTEN, EP_TCP_CONN, EP_STOP, EP_INBOX, EP_RELAY };

struct ep_ref {
	enum ep_kind kind;
	int fd;
};

#endif
