/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One epoll entry: {fd, callback, argument}. The loop that waits knows
 * nothing of what it serves (a listening socket, a TCP stream, a relay
 * socket, an eventfd); whoever adds an entry embeds a struct ev_handler in
 * its own object and gets called back with its own argument.
 */
#ifndef KSIP_EVLOOP_H
#define KSIP_EVLOOP_H

#include <stdint.h>
#include <sys/epoll.h>

/* EVENTS is epoll's mask (EPOLLIN, EPOLLOUT, EPOLLRDHUP, ...). */
typedef void (*ev_fn)(void *arg, uint32_t events);

struct ev_handler {
	int fd;
	ev_fn fn;
	void *arg;
};

static inline int ev_add(int epfd, struct ev_handler *h, int fd, ev_fn fn, void *arg,
			 uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = h };

	h->fd = fd;
	h->fn = fn;
	h->arg = arg;
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static inline int ev_mod(int epfd, struct ev_handler *h, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = h };

	return epoll_ctl(epfd, EPOLL_CTL_MOD, h->fd, &ev);
}

static inline void ev_del(int epfd, struct ev_handler *h)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, h->fd, NULL);
}

/* Dispatch one epoll_wait() result. */
static inline void ev_dispatch(const struct epoll_event *ev)
{
	struct ev_handler *h = ev->data.ptr;

	h->fn(h->arg, ev->events);
}

#endif
