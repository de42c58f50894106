# The two commands a user needs:
#   make dst    set up and run the main job (dst-sim, 200 seeds, --strict, embedded reference platform)
#   make test   run every test in the workspace (what .ci/run calls)
SHELL := /bin/bash
CARGO ?= cargo
SEEDS ?= 0..200
# steps per seed, as dst_sim::SEED_STEPS: enough for every rule to fire in every seed of 0..200
STEPS ?= 300

DEMO := scripts/demo-hooks.sh
.PHONY: help setup demo dst mutants test lint fmt install-hooks bench bench-hooks bench-dst bench-verify bench-slop e2e-hooks platform-check ci-local fuzz-hooks

help:
	@echo "make dst            run dst-sim over $(SEEDS) with --strict against the embedded reference platform"
	@echo "make mutants        the fault-layer scorecard: every planted bug caught within $(SEEDS), clean run clean"
	@echo "make test           run every test (fmt/clippy are in .ci/run)"
	@echo "make demo           the deploy gate in a scratch repository (push -> blocked -> verified -> open)"
	@echo "make install-hooks  merge hooks/settings.json into PROJECT=<dir>/.claude/settings.json"
	@echo "make bench          all benchmarks (figures go in docs/PERFORMANCE.md)"
	@echo "make e2e-hooks      hooks end to end inside the real Claude Code client"
	@echo "make fuzz-hooks     a million generated inputs through both hooks: 0 panics, 0 invalid outputs, 0 hangs"
	@echo "make platform-check PLATFORM=<checkout>  the platform on a private PostgreSQL+pgvector, dst-sim + Schemathesis, one report"
	@echo "make ci-local PLATFORM=<checkout>        review.yml's run: steps on this machine against that checkout"

# Everything a fresh machine of this project's kind needs beyond the Rust toolchain.
setup:
	@bash scripts/setup.sh

dst: setup
	$(CARGO) run --release -p dst-sim -- run --seeds $(SEEDS) --steps $(STEPS) --strict

# The fault-layer scorecard: the reference platform once per planted bug and once clean, --faults on.
mutants: setup
	$(CARGO) run --release -p dst-sim -- mutants --seeds $(SEEDS) --steps $(STEPS)

demo:
	@bash $(DEMO)

test: setup
	$(CARGO) nextest run --workspace --all-targets --no-fail-fast
	$(CARGO) test --workspace --doc

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

install-hooks:
	@bash scripts/install-hooks.sh "$(PROJECT)"

bench: bench-hooks bench-dst bench-verify bench-slop

bench-hooks:
	@bash scripts/bench-hooks.sh

bench-dst:
	@bash scripts/bench-dst.sh

bench-verify:
	@bash scripts/bench-verify.sh

# slop-detectors vs semgrep on a generated 50k-line project; DIRS="path ..." adds real code.
bench-slop:
	@bash scripts/bench-slop.sh $(DIRS)

# A million seeded inputs through both hooks (in-process on every core, every 100th also through the
# two binaries), each step capped at 10 s; prints count, time, panics, invalid outputs and hangs, and
# fails on any. About 2 minutes on 2 cores (docs/PERFORMANCE.md). FUZZ_ARGS="--inputs N --seed S …".
fuzz-hooks:
	@bash scripts/fuzz-hooks.sh

e2e-hooks:
	@bash scripts/e2e-hooks.sh

# The real platform from a checkout: private PostgreSQL+pgvector, cached venv, migrations, admin
# key, dst-sim --faults and Schemathesis, one report in platform-check-out/ (docs/platform-check.md).
# The platform is the bottleneck, not dst-sim, so the dev profile is enough. PC_ARGS adds flags.
platform-check: setup
	@test -n "$(PLATFORM)" || { echo "usage: make platform-check PLATFORM=<checkout of the platform>" >&2; exit 2; }
	$(CARGO) build -q -p platform-check -p dst-sim
	$(CARGO) run -q -p platform-check -- run --platform "$(PLATFORM)" $(PC_ARGS)

ci-local: setup
	@test -n "$(PLATFORM)" || { echo "usage: make ci-local PLATFORM=<checkout of the platform>" >&2; exit 2; }
	@bash scripts/ci-local.sh "$(PLATFORM)"
