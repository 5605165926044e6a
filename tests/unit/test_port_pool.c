// SPDX-License-Identifier: GPL-2.0
/* Relay port pairs: bounds, exhaustion, exact release, no quick reuse. */
#include <stdbool.h>

#include "media/port_pool.h"
#include "tap.h"

int main(void)
{
	struct port_pool *p = port_pool_new(30001, 30010);
	bool seen[65536] = { false }, all_even = true, distinct = true;
	uint16_t port, first;
	int n = 0;

	ok(p && port_pool_size(p) == 4, "30001-30010 holds 4 pairs (30002..30009)");
	while (port_pool_get(p, &port) == 0) {
		all_even &= port % 2 == 0 && port >= 30002 && port + 1 <= 30010;
		distinct &= !seen[port];
		seen[port] = true;
		n++;
	}
	ok(n == 4 && all_even && distinct, "every pair is even/odd, inside the range, handed out once");
	ok(port_pool_get(p, &port) < 0 && port_pool_in_use(p) == 4, "exhausted pool says so");
	ok(port_pool_put(p, 30004) && port_pool_in_use(p) == 3, "release one pair");
	ok(!port_pool_put(p, 30004), "releasing it twice is refused");
	ok(!port_pool_put(p, 30005) && !port_pool_put(p, 40000) && !port_pool_put(p, 30000),
	   "odd, foreign and out-of-range ports are refused");
	ok(port_pool_get(p, &port) == 0 && port == 30004, "the freed pair is found again");
	port_pool_free(p);

	p = port_pool_new(40000, 40099);
	port_pool_get(p, &first);
	port_pool_put(p, first);
	port_pool_get(p, &port);
	ok(port != first, "a pair just released is not handed out again at once");
	for (int i = 0; i < 48; i++)
		port_pool_get(p, &port);
	ok(port_pool_in_use(p) == 49, "in-use count is exact");
	port_pool_free(p);
	ok(port_pool_new(5000, 5000) == NULL && port_pool_new(5001, 5002) == NULL,
	   "a range without an even/odd pair is refused");
	p = port_pool_new(0, 65535);
	ok(p && port_pool_size(p) == 32767, "the whole port space is 32767 pairs (port 0 excluded)");
	port_pool_free(p);
	return tap_done();
}
