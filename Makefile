# Thin wrapper: the build is CMake's.  `make run` and `make test` are all a
# new user needs; both install missing Debian packages first.
BUILD ?= build
CMAKE_FLAGS ?=
JOBS ?= $(shell nproc)

.PHONY: all deps build run test bench sanitize builds builds-noexp plugins abuse \
        fleet-test package-test xen-test clean

all: build

deps:
	@scripts/install-deps

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# xenosd on the sim backend: a simulated 8-pCPU host (its own process,
# xenos-simhost, started on demand) and the example tenant policy.
# PORT: where /metrics listens (on 127.0.0.1).
STATE ?= $(BUILD)/state
PORT ?= 9410
run: build
	@echo "xenos: xenosd on a simulated host (sched/sim/scenarios/demo-host.yaml),"
	@echo "xenos: tenant policy policies/examples/tenants.yaml, state in $(STATE)."
	@echo "xenos: metrics:     http://127.0.0.1:$(PORT)/metrics (make run PORT=N for another port)"
	@echo "xenos: watch it:    $(BUILD)/xenosd/xenosctl --state-dir $(STATE) top"
	@echo "xenos: reload:      kill -HUP \$$(pgrep -x xenosd); stop: Ctrl-C"
	@echo "xenos: the simulator alone: $(BUILD)/sched/sim/xenos-sim sched/sim/scenarios/weights.yaml"
	$(BUILD)/xenosd/xenosd --backend sim \
	    --scenario sched/sim/scenarios/demo-host.yaml \
	    --policy-file policies/examples/tenants.yaml \
	    --interval-ms 1000 --state-dir $(STATE) \
	    --listen 127.0.0.1:$(PORT)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: build
	bench/run $(BUILD)

# ASan + UBSan build and test in its own tree.
sanitize: deps
	cmake -S . -B $(BUILD)-san -DXENOS_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
	cmake --build $(BUILD)-san -j $(JOBS)
	# Check's per-test timeouts tripled: ASan and UBSan run 2-3x slower
	cd $(BUILD)-san && CK_TIMEOUT_MULTIPLIER=3 ctest --output-on-failure -j $(JOBS)

# The builds a packager runs, each in its own tree and all with -Werror:
# gcc Debug, RelWithDebInfo and Release (-O3: other inlining, other
# warnings) and clang.  The test suites run in the Release and clang
# builds, the two whose code differs most from `make test`'s; Debug and
# RelWithDebInfo only have to build.  clang comes with `make deps`.
# NAME:COMPILER:BUILD_TYPE:TEST
BUILDS = debug:gcc:Debug:no relwithdebinfo:gcc:RelWithDebInfo:no \
         release:gcc:Release:yes clang:clang:RelWithDebInfo:yes
builds: deps
	@set -e; for b in $(BUILDS); do \
	    set -- $$(echo $$b | tr : ' '); \
	    dir=$(BUILD)-$$1; \
	    echo "== builds: $$1 ($$2, $$3) in $$dir"; \
	    cmake -S . -B $$dir -DCMAKE_C_COMPILER=$$2 \
	        -DCMAKE_BUILD_TYPE=$$3 -DXENOS_WERROR=ON; \
	    cmake --build $$dir -j $(JOBS); \
	    if [ $$4 = yes ]; then \
	        (cd $$dir && ctest --output-on-failure -j $(JOBS)); \
	    fi; \
	done
	@$(MAKE) --no-print-directory builds-noexp

# A build with no exporter (XENOS_WITH_<NAME>=OFF for each line of
# exporters.def, as on a machine without their libraries) must configure,
# build with -Werror and pass the suites of the daemon, its control socket
# and state dir; xenosctl graph must say it is not built.  Under a minute.
NOEXP_FLAGS = $(shell sed -n 's/^EXP_EXPORTER(\([a-z0-9_]*\))/-DXENOS_WITH_\U\1=OFF/p' \
                  exporter/include/xenos/exporters.def)
NOEXP_TESTS = ^test_(cli|cfg|collector|ctlsock|programs|service|statedir|tpol|xen_backend)$$
builds-noexp: deps
	@echo "== builds: noexp (gcc, Debug, $(NOEXP_FLAGS)) in $(BUILD)-noexp"
	cmake -S . -B $(BUILD)-noexp -DCMAKE_BUILD_TYPE=Debug -DXENOS_WERROR=ON \
	    $(NOEXP_FLAGS)
	cmake --build $(BUILD)-noexp -j $(JOBS)
	@! grep -q '^EXP_EXPORTER' $(BUILD)-noexp/exporter/exporters_built.def
	@$(BUILD)-noexp/xenosd/xenosctl graph x -o /dev/null 2>&1 | \
	    grep -q 'not built in'
	cd $(BUILD)-noexp && ctest --output-on-failure -j $(JOBS) \
	    -R '$(NOEXP_TESTS)'

# A policy, a backend and an exporter added to a copy of the tree as
# docs/architecture.md says, built and run (tests/plugins/run; about 2
# minutes).
plugins: deps
	tests/plugins/run

# The durability and abuse suite (tests/abuse/run, docs/reliability.md):
# host reboots and kill -9, a full disk, planted links and a second
# daemon, slow clients on both sockets, every parser fuzzed for a bounded
# time.  Root (mounts, throwaway users); about 7 minutes.
abuse: build
	tests/abuse/run $(BUILD)

# The fleet test (tests/fleet/run, docs/fleet.md): 10 simulated hosts
# (xenosd and its own xenos-simhost each, a host name of its own) shipping
# their ledgers into one PostgreSQL and scraped by one Prometheus, with
# kill -9 of xenosds and shippers and a crash of PostgreSQL; database
# against ground truth and Prometheus.  Root; about 2 minutes.
fleet-test: build
	tests/fleet/run $(BUILD)

# The packaging test (tests/pkg/run, docs/install.md): the Debian packages
# built (dpkg-buildpackage) and checked by lintian, installed into a fresh
# Debian 12 root (debootstrap, cached in $XENOS_PKGTEST, default
# /var/cache/xenos-pkgtest), xenosd started there with the unit's command
# line on the sim backend, scraped, asked and stopped.  Root; about a
# minute with its cache, 2.5 from nothing.
package-test: deps
	tests/pkg/run --build-dir $(BUILD)

# The real-hypervisor test: Xen 4.17 under QEMU (TCG, three pCPUs) booted
# with credit2, credit and our fcredit, xenosd in dom0 over busy guests of
# three tenants on one pCPU and on two (tests/xen/run, docs/xen.md).  About
# 13 minutes with its cache, 20 from nothing; the dom0 image is cached in
# $XENOS_XENLAB (default /var/cache/xenos-xenlab).
xen-test: build
	tests/xen/run --build-dir $(BUILD) all

clean:
	rm -rf $(BUILD) $(BUILD)-san $(BUILD)-noexp \
	    $(foreach b,$(BUILDS),$(BUILD)-$(firstword $(subst :, ,$(b))))
