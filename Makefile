# socorro-bootstrap: see README.md.  Plain make; every command under cmd/
# and every module under libcommon/ is found by wildcard, so adding one
# needs no edit here.
#
#   make                 static musl binaries in bin/
#   make check           unit suites (ASan/UBSan, host gcc) + integration tests
#   make install PREFIX=/usr/local DESTDIR=
#   make demo | bench | lint | clean | distclean

PREFIX   ?= /usr/local
DESTDIR  ?=
VERSION  := $(shell cat VERSION)

WARN     := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wformat=2 -Wvla
DEFS     := -D_DEFAULT_SOURCE -D_GNU_SOURCE -DSB_VERSION='"$(VERSION)"'

MUSL     := build/musl
HOST     := build/host
MUSL_CC  := musl-gcc
HOST_CC  := gcc
MUSL_CFLAGS := $(WARN) $(DEFS) -Os -ffunction-sections -fdata-sections \
               -ffile-prefix-map=$(CURDIR)/= \
               -Ilibcommon -I$(MUSL)/include -Ibuild/gen
HOST_CFLAGS := $(WARN) $(DEFS) -O1 -g -fno-omit-frame-pointer \
               -fsanitize=address,undefined -fno-sanitize-recover=all \
               -Ilibcommon -I$(HOST)/include -Ibuild/gen
DEP_LIBS := -lcurl -lbearssl -ljansson -lexpat -linih -lz -lpthread
MUSL_LDFLAGS := -static -s -Wl,--gc-sections -L$(MUSL)/lib
HOST_LDFLAGS := -fsanitize=address,undefined -L$(HOST)/lib

COMMANDS := $(notdir $(wildcard cmd/*))
BINS     := $(addprefix bin/,$(COMMANDS))
LIB_SRC  := $(wildcard libcommon/*.c)
MUSL_LIB_OBJ := $(patsubst %.c,build/obj/musl/%.o,$(LIB_SRC))
HOST_LIB_OBJ := $(patsubst %.c,build/obj/host/%.o,$(LIB_SRC))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
# Helpers shared by several suites (test servers, temp dirs) live in tests/unit/lib/.
UNIT_LIB_OBJ := $(patsubst %.c,build/obj/host/%.o,$(wildcard tests/unit/lib/*.c))
UNIT_BINS := $(patsubst tests/unit/%.c,build/test/%,$(UNIT_SRC))
MANS     := $(wildcard cmd/*/*.1) scripts/deploy-socorro.1
SCRIPTS  := scripts/deploy-socorro

.PHONY: all check unit integration install demo bench lint clean distclean deps rpm fuzz \
	reproducible check-asan
FUZZ_SECONDS ?= 10
all: $(BINS)

# --- third-party dependencies, rebuilt only when the pins change ---------
DEP_INPUTS := deps.lock scripts/fetch-deps scripts/build-deps
$(MUSL)/.built: $(DEP_INPUTS)
	scripts/fetch-deps
	scripts/build-deps musl
	touch $@
$(HOST)/.built: $(DEP_INPUTS)
	scripts/fetch-deps
	scripts/build-deps host
	touch $@
deps: $(MUSL)/.built $(HOST)/.built

# The exact Debian revisions used, for --version.
build/gen/deps_versions.h: $(MUSL)/.built scripts/gen-versions
	@mkdir -p $(dir $@)
	scripts/gen-versions build/deps/versions >$@.tmp && mv $@.tmp $@

# --- objects ---------------------------------------------------------------
build/obj/musl/%.o: %.c $(MUSL)/.built build/gen/deps_versions.h
	@mkdir -p $(dir $@)
	$(MUSL_CC) $(MUSL_CFLAGS) -MMD -MP -c $< -o $@
build/obj/host/%.o: %.c $(HOST)/.built build/gen/deps_versions.h
	@mkdir -p $(dir $@)
	$(HOST_CC) $(HOST_CFLAGS) -MMD -MP -c $< -o $@

build/musl/libcommon.a: $(MUSL_LIB_OBJ)
	rm -f $@ && ar rcs $@ $^
build/host/libcommon.a: $(HOST_LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

# bin/<cmd> links every .c in cmd/<cmd>/ with libcommon and the deps.
# Keep objects: they are not intermediates to throw away.
.SECONDARY:
.SECONDEXPANSION:
cmd_objs = $(patsubst %.c,build/obj/musl/%.o,$(wildcard cmd/$(1)/*.c))
bin/%: $$(call cmd_objs,$$*) build/musl/libcommon.a
	@mkdir -p bin
	$(MUSL_CC) $(MUSL_LDFLAGS) -o $@ $(filter %.o,$^) build/musl/libcommon.a $(DEP_LIBS)

# Unit suites: tests/unit/test_<module>.c, linked with the sanitized libcommon.
build/test/test_%: build/obj/host/tests/unit/test_%.o build/obj/host/tests/unit/check_main.o $(UNIT_LIB_OBJ) build/host/libcommon.a
	@mkdir -p build/test
	$(HOST_CC) $(HOST_LDFLAGS) -o $@ $(filter %.o,$^) build/host/libcommon.a \
		-l:libcheck.a $(DEP_LIBS) -lm -lrt
-include $(shell find build/obj -name '*.d' 2>/dev/null)

# --- tests -----------------------------------------------------------------
check: all $(UNIT_BINS) build/test/helpers
	scripts/lint-banned
	scripts/lint-shell
	@for m in $(MANS); do mandoc -Tlint -Wwarning $$m || exit 1; done; echo "mandoc -Tlint: $(words $(MANS)) man pages clean"
	tests/run $(UNIT_BINS)

build/test/helpers: $(wildcard tests/helpers/*.c) build/host/libcommon.a
	@mkdir -p $@
	@for f in $(wildcard tests/helpers/*.c); do \
		$(HOST_CC) $(HOST_CFLAGS) -o $@/$$(basename $$f .c) $$f build/host/libcommon.a \
			$(HOST_LDFLAGS) $(DEP_LIBS) -lm || exit 1; done
	@touch $@

# The same commands built with the host gcc and ASan/UBSan, for check-asan:
# the whole integration suite against them (but the tests of the shipped
# static binaries themselves: static, install).
ASAN_BINS := $(addprefix build/asan/bin/,$(COMMANDS))
host_cmd_objs = $(patsubst %.c,build/obj/host/%.o,$(wildcard cmd/$(1)/*.c))
build/asan/bin/%: $$(call host_cmd_objs,$$*) build/host/libcommon.a
	@mkdir -p build/asan/bin
	$(HOST_CC) $(HOST_LDFLAGS) -o $@ $(filter %.o,$^) build/host/libcommon.a $(DEP_LIBS) -lm
check-asan: all $(ASAN_BINS)
	ln -sfn $(CURDIR)/etc build/asan/etc # what the commands look for beside them
	BIN=$(CURDIR)/build/asan/bin SKIP_TESTS="static install" tests/run --integration-only

unit: $(UNIT_BINS)
	tests/run --unit-only $(UNIT_BINS)
integration: all
	tests/run --integration-only

lint:
	scripts/lint-banned
	scripts/lint-shell
	scripts/lint-format
	for m in $(MANS); do mandoc -Tlint -Wwarning $$m || exit 1; done

# --- demo, bench -----------------------------------------------------------
# A fresh machine: install what is needed (as CI does), build, run the demo.
demo:
	scripts/install-build-deps
	$(MAKE) all
	scripts/demo
bench: all
	tests/bench/run
# Two clean builds in two directories must give byte-identical binaries.
reproducible:
	scripts/check-reproducible
# libFuzzer targets (clang), FUZZ_SECONDS each; results in tests/fuzz/RESULTS.md.
fuzz: $(HOST)/.built
	scripts/fuzz $(FUZZ_SECONDS)

# --- install ---------------------------------------------------------------
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/socorro-bootstrap
	install -m 0755 $(BINS) $(SCRIPTS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(MANS) $(DESTDIR)$(PREFIX)/share/man/man1/
	cp -R etc/. $(DESTDIR)$(PREFIX)/share/socorro-bootstrap/

# The toolkit's own RPM, built by its own create-rpm from `make install`.
rpm: all
	rm -rf build/rpmroot
	$(MAKE) install PREFIX=/usr DESTDIR=$(CURDIR)/build/rpmroot
	mkdir -p dist
	bin/create-rpm --root build/rpmroot --name socorro-bootstrap --pkg-version $(VERSION) \
		--release 1 --arch x86_64 --license MPL-2.0 --url https://github.com/mozilla-services/socorro \
		--summary "Static commands that bootstrap and deploy Socorro" \
		--description "identify-role, create-ami, roll-role, create-rpm, setup-postgres, setup-es, rabbit-init, consul-load, backup and deploy-socorro: static binaries with no run-time dependencies." \
		-o dist

clean:
	rm -rf bin build/obj build/test build/gen build/musl/libcommon.a build/host/libcommon.a
distclean:
	rm -rf bin build dist
