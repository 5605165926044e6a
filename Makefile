# ksip top-level build.
#   make            ksipd and ksipctl (ksip.ko too once kmod/ exists and headers are present)
#   make run        install deps, build, run ksipd in the foreground with embedded defaults
#   make check      install deps, build everything, run every test (TAP), print "N passed, N failed"
#   make fuzz       run the parser fuzzer for longer (FUZZ_SECONDS, default 600)

CC      ?= cc
CLANG   ?= clang
O       ?= build
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Wshadow -Wno-missing-field-initializers -D_GNU_SOURCE \
           -Iinclude -Idaemon -Ikmod -pthread -MMD -MP
NL_CFLAGS := $(shell pkg-config --cflags libnl-genl-3.0 2>/dev/null || echo -I/usr/include/libnl3)
NL_LIBS   := $(shell pkg-config --libs libnl-genl-3.0 2>/dev/null || echo -lnl-genl-3 -lnl-3)
# The nftables shield (daemon/shield/nft*.c) speaks nf_tables netlink itself.
NFT_LIBS  := $(shell pkg-config --libs libnftnl libmnl 2>/dev/null || echo -lnftnl -lmnl)
LDLIBS  := -lsqlite3 -lcrypto -linih $(NL_LIBS) $(NFT_LIBS) -pthread

SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# The daemon's layers (daemon/*/), then the top-level files but main.c: tests/check-layers.sh
# says which may include which.
DAEMON_LAYERS := base sip store transport shield txn media registrar proxy
CORE_SRCS := $(foreach l,$(DAEMON_LAYERS),$(wildcard daemon/$(l)/*.c)) \
	     $(filter-out daemon/main.c,$(wildcard daemon/*.c)) kmod/ksip_sipframe.c lib/endpoint.c \
	     lib/ksip_genl.c
CORE_OBJS := $(CORE_SRCS:%.c=$(O)/obj/%.o)
SAN_OBJS  := $(CORE_SRCS:%.c=$(O)/san/%.o)
CTL_SRCS  := $(wildcard ctl/*.c) $(wildcard lib/*.c)
CTL_OBJS  := $(CTL_SRCS:%.c=$(O)/obj/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(O)/tests/%) $(UNIT_SRCS:tests/unit/%.c=$(O)/tests/san/%)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(O)/fuzz/%)

# ksip.ko: against the running kernel's headers only, so that the module `make` leaves can be
# loaded here. The VM tests build their own against Debian's cloud kernel (scripts/vm.sh picks
# the newest by version order); `make run` installs the running kernel's headers when missing.
KDIR ?= $(wildcard /lib/modules/$(shell uname -r)/build)

all: $(O)/ksipd $(O)/ksipctl $(if $(KDIR),kmod)

kmod:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules W=1

$(O)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(O)/san/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -c -o $@ $<

$(O)/libksipcore.a: $(CORE_OBJS)
	$(AR) rcs $@ $^

$(O)/libksipcore-san.a: $(SAN_OBJS)
	$(AR) rcs $@ $^

$(O)/ksipd: $(O)/obj/daemon/main.o $(O)/libksipcore.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# The daemon under ASan/UBSan: the SIP test suites run against it.
$(O)/san/ksipd: $(O)/san/daemon/main.o $(O)/libksipcore-san.a
	$(CC) $(CFLAGS) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)

$(O)/ksipctl: $(CTL_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(NL_LIBS)

$(O)/obj/lib/%.o $(O)/obj/ctl/%.o $(O)/san/lib/%.o: CFLAGS += $(NL_CFLAGS)

# A unit test that names its layers (TEST_LAYERS_test_x := base sip txn) links the objects of
# those layers and nothing else, so it cannot build if its layer calls one above it. An entry
# may also name one file of a layer (txn/cache). media/ speaks to ksip.ko through
# lib/ksip_genl.c, which comes along with it.
test_objs = $(if $(TEST_LAYERS_$(1)),$(foreach l,$(TEST_LAYERS_$(1)),\
	$(patsubst %.c,$(O)/$(2)/%.o,$(wildcard daemon/$(l)/*.c daemon/$(l).c))) \
	$(O)/$(2)/lib/endpoint.o $(O)/$(2)/kmod/ksip_sipframe.o \
	$(if $(filter media,$(TEST_LAYERS_$(1))),$(O)/$(2)/lib/ksip_genl.o),$(O)/$(3))
TEST_LAYERS_test_hash := base
TEST_LAYERS_test_config := base
TEST_LAYERS_test_log := base
TEST_LAYERS_test_txn := base sip txn
TEST_LAYERS_test_users := base sip store/users
TEST_LAYERS_test_challenge := base sip registrar/challenge
TEST_LAYERS_test_trusted := base shield/trusted
TEST_LAYERS_test_shield := base sip shield

.SECONDEXPANSION:
$(O)/tests/%: tests/unit/%.c $$(call test_objs,$$*,obj,libksipcore.a) tests/lib/tap.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests/lib -o $@ $< $(call test_objs,$*,obj,libksipcore.a) $(LDLIBS)

$(O)/tests/san/%: tests/unit/%.c $$(call test_objs,$$*,san,libksipcore-san.a) tests/lib/tap.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -Itests/lib -o $@ $< $(call test_objs,$*,san,libksipcore-san.a) \
		$(LDLIBS)

# libFuzzer needs clang; the parser has no dependencies beyond libc.
FUZZ_DEPS := $(wildcard daemon/sip/*.c) daemon/base/hash.c daemon/base/log.c \
	     kmod/ksip_sipframe.c lib/endpoint.c
$(O)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_DEPS)
	@mkdir -p $(@D)
	$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iinclude -Idaemon -Ikmod \
		-o $@ $< $(FUZZ_DEPS) -lcrypto

# Test helper run inside the kernel-test VM.
$(O)/tests/ktest: tests/kernel/ktest.c lib/ksip_genl.c lib/endpoint.c include/ksip/genl.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(NL_CFLAGS) -o $@ tests/kernel/ktest.c lib/ksip_genl.c lib/endpoint.c $(NL_LIBS)

$(O)/tests/udprelay: bench/udprelay.c lib/endpoint.c include/ksip/endpoint.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ bench/udprelay.c lib/endpoint.c

# Drives the nftables shield for tests/security/test_nft.sh (inside a test's namespace only).
$(O)/tests/nft_helper: tests/security/nft_helper.c $(O)/libksipcore-san.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -o $@ $< $(O)/libksipcore-san.a $(LDLIBS)

# The flood sender of tests/security/ (sendmmsg, spoofed sources inside a test namespace).
$(O)/tests/sipflood: tests/tools/sipflood.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< -pthread

tests: all $(O)/san/ksipd $(O)/tests/nft_helper $(O)/tests/ktest $(O)/tests/udprelay $(O)/tests/sipflood \
	$(UNIT_BINS) $(FUZZ_BINS)

deps:
	scripts/deps.sh

check: deps
	$(MAKE) tests
	tests/run.sh

run: deps all
	scripts/run-ksipd.sh

fuzz: $(FUZZ_BINS)
	tests/fuzz/run.sh $(or $(FUZZ_SECONDS),600)

clean:
	rm -rf $(O)
	$(if $(KDIR),$(MAKE) -C $(KDIR) M=$(CURDIR) clean)

.PHONY: all kmod tests deps check run fuzz clean
.SECONDARY:

-include $(shell find $(O) -name '*.d' 2>/dev/null)
