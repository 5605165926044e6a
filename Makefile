# ksip top-level build.
#   make            ksipd and ksipctl (ksip.ko too once kmod/ exists and headers are present)
#   make run        install deps, build, run ksipd in the foreground with embedded defaults
#   make check      install deps, build everything, run every test (TAP), print "N passed, N failed"
#   make fuzz       run the parser fuzzer for longer (FUZZ_SECONDS, default 600)
#   make deb        Debian packages ksip and ksip-dkms into build/deb/ (dpkg-buildpackage)
#   make install    ksipd, ksipctl, unit, man pages, config and DKMS source (DESTDIR, PREFIX)

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
# The Prometheus endpoint (daemon/metrics.c) serves HTTP with libmicrohttpd.
MHD_LIBS  := $(shell pkg-config --libs libmicrohttpd 2>/dev/null || echo -lmicrohttpd)
# sd_notify (daemon/main.c): READY=1, STATUS=, WATCHDOG=1 under systemd; a no-op elsewhere.
SD_LIBS   := $(shell pkg-config --libs libsystemd 2>/dev/null || echo -lsystemd)
LDLIBS  := -lsqlite3 -lssl -lcrypto -linih $(NL_LIBS) $(NFT_LIBS) $(MHD_LIBS) $(SD_LIBS) -pthread -lm

SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# The daemon's layers (daemon/*/), then the top-level files but main.c: tests/check-layers.sh
# says which may include which.
DAEMON_LAYERS := base sip store transport shield txn media mixer registrar proxy conf
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
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(O)/san/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(SAN_FLAGS) -c -o $@ $<

$(O)/libksipcore.a: $(CORE_OBJS)
	$(AR) rcs $@ $^

$(O)/libksipcore-san.a: $(SAN_OBJS)
	$(AR) rcs $@ $^

$(O)/ksipd: $(O)/obj/daemon/main.o $(O)/libksipcore.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The daemon under ASan/UBSan: the SIP test suites run against it.
$(O)/san/ksipd: $(O)/san/daemon/main.o $(O)/libksipcore-san.a
	$(CC) $(CFLAGS) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)

$(O)/ksipctl: $(CTL_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(NL_LIBS)

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
TEST_LAYERS_test_stats := base
TEST_LAYERS_test_config := base
TEST_LAYERS_test_log := base
TEST_LAYERS_test_txn := base sip txn
TEST_LAYERS_test_users := base sip store/users
TEST_LAYERS_test_challenge := base sip registrar/challenge
TEST_LAYERS_test_trusted := base shield/trusted
TEST_LAYERS_test_shield := base sip shield
TEST_LAYERS_test_stun := sip/stun
TEST_LAYERS_test_conf_offer := base sip conf/offer store/rooms
TEST_LAYERS_test_g711 := mixer/g711
TEST_LAYERS_test_jitter := mixer/jitter mixer/rtp
TEST_LAYERS_test_dtmf := mixer/dtmf
TEST_LAYERS_test_mixer := base mixer
TEST_LAYERS_test_auto_answer := base sip

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

# The conference mixer's packet input: its own files, no SIP.
MIXER_FUZZ_DEPS := daemon/mixer/rtp.c daemon/mixer/jitter.c daemon/mixer/dtmf.c daemon/mixer/g711.c
$(O)/fuzz/fuzz_mixer_input: tests/fuzz/fuzz_mixer_input.c $(MIXER_FUZZ_DEPS)
	@mkdir -p $(@D)
	$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iinclude -Idaemon \
		-o $@ $< $(MIXER_FUZZ_DEPS)

# Test helper run inside the kernel-test VM.
$(O)/tests/ktest: tests/kernel/ktest.c lib/ksip_genl.c lib/endpoint.c include/ksip/genl.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(NL_CFLAGS) -o $@ tests/kernel/ktest.c lib/ksip_genl.c lib/endpoint.c $(NL_LIBS)

$(O)/tests/udprelay: bench/udprelay.c lib/endpoint.c include/ksip/endpoint.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ bench/udprelay.c lib/endpoint.c

# bench/conference's load and measurement (not part of make check): the mixer and its layers only.
$(O)/bench/confbench: bench/confbench.c $(O)/libksipcore.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(O)/libksipcore.a $(LDLIBS)

confbench: $(O)/bench/confbench

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

# Installation for any distribution; debian/rules uses it with PREFIX=/usr. The configuration
# file is installed only where none exists yet.
VERSION    := $(shell sed -n '1s/.*(\(.*\)-[^-]*).*/\1/p' debian/changelog)
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
DKMSDIR    ?= /usr/src/ksip-$(VERSION)
MANPAGES   := man/ksipd.8 man/ksipctl.8 man/ksipd.conf.5 man/ksip.7

install: $(O)/ksipd $(O)/ksipctl
	install -D -m 755 $(O)/ksipd $(DESTDIR)$(SBINDIR)/ksipd
	install -D -m 755 $(O)/ksipctl $(DESTDIR)$(SBINDIR)/ksipctl
	$(foreach m,$(MANPAGES),install -D -m 644 $(m) \
		$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m)) &&) true
	test -e $(DESTDIR)$(SYSCONFDIR)/ksip/ksipd.conf || \
		install -D -m 644 dist/ksipd.conf $(DESTDIR)$(SYSCONFDIR)/ksip/ksipd.conf
	install -d $(DESTDIR)$(UNITDIR)
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' dist/ksipd.service \
		> $(DESTDIR)$(UNITDIR)/ksipd.service
	install -D -m 644 dist/modules-load.conf $(DESTDIR)$(SYSCONFDIR)/modules-load.d/ksip.conf
	install -D -m 644 Kbuild $(DESTDIR)$(DKMSDIR)/Kbuild
	install -D -m 644 -t $(DESTDIR)$(DKMSDIR)/kmod kmod/*.c kmod/*.h
	install -D -m 644 -t $(DESTDIR)$(DKMSDIR)/include/uapi/linux include/uapi/linux/*.h
	sed 's/#MODULE_VERSION#/$(VERSION)/' dist/dkms.conf > $(DESTDIR)$(DKMSDIR)/dkms.conf

# dpkg-buildpackage leaves its output beside the tree: it is moved to $(O)/deb.
DEBVERSION := $(shell sed -n '1s/.*(\(.*\)).*/\1/p' debian/changelog)
deb:
	dpkg-buildpackage -us -uc -b -tc -j$(or $(DEB_JOBS),2)
	mkdir -p $(O)/deb
	mv ../ksip*_$(DEBVERSION)_*.deb ../ksip_$(DEBVERSION)_*.buildinfo \
		../ksip_$(DEBVERSION)_*.changes $(O)/deb/

clean:
	rm -rf $(O)
	$(if $(KDIR),$(MAKE) -C $(KDIR) M=$(CURDIR) clean)

.PHONY: all kmod tests deps check run fuzz clean install deb confbench
.SECONDARY:

-include $(shell find $(O) -name '*.d' 2>/dev/null)
