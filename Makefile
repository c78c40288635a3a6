# Docket's two entry points: `make demo` and `make test`. Both install what is missing first.
#
# Builds never need a database: the sqlx query data is committed in .sqlx/ (see `make sqlx-prepare`).
export SQLX_OFFLINE := true

CARGO ?= cargo
DEV_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/docket_dev

TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)

.PHONY: demo test lint fmt deps build web web-test screenshots sqlx-prepare dev-db protocol-ts fuzz

## Run a demo firm on this machine: private PostgreSQL, seeded data, portal on 127.0.0.1:8080.
demo: deps web
	$(CARGO) build -p docket-server --bin docket
	$(CARGO) run -q -p docket-server --bin docket -- demo

## Every check CI runs: formatting, clippy, unit and black-box tests against real Postgres.
test: deps lint
	./scripts/ensure-redis.sh
	./scripts/ensure-deps.sh --clamd --pdf
	./scripts/ensure-moto.sh
	./scripts/ensure-pytool.sh aiosmtpd 'aiosmtpd>=1.4,<2' --version
	# The browser's side of Web Push in the notification tests (decrypting, checking VAPID).
	./scripts/ensure-pymodule.sh http_ece 'http-ece>=1.2,<2' 'cryptography>=42'
	# The black-box tests drive docket-cli, a binary of another package: build it first.
	$(CARGO) build -p docket-client --bin docket-cli
	$(CARGO) test --workspace --all-targets
	$(CARGO) test -p docket-protocol --features ts --test typescript
	$(MAKE) ws-conformance
	$(MAKE) api-conformance
	$(MAKE) web-test

## WebSocket conformance: the Autobahn TestSuite's cases (kosoku) against an echo server with
## the channel socket's exact settings and close codes (docs/decisions/0016).
.PHONY: ws-conformance
ws-conformance:
	CARGO=$(CARGO) ./scripts/ws-conformance.sh

## The web client: type check, unit tests (Vitest), build, then the journeys in headless Chromium
## against a real portal at desktop and phone sizes.
web-test: web
	./scripts/ensure-deps.sh --browser
	$(CARGO) build -p docket-server --bin docket
	cd clients/web && npx vitest run
	cd clients/web && DOCKET_BIN=$(TARGET_DIR)/debug/docket npm run --silent e2e

## Schemathesis against a demo portal, as a firm user and as a client user: the server answers
## only what the OpenAPI document says (docs/decisions/0017-api-conformance.md).
.PHONY: api-conformance
api-conformance:
	$(CARGO) build -p docket-server --bin docket
	DOCKET_BIN=$(TARGET_DIR)/debug/docket ./scripts/api-conformance.sh

## Refresh docs/screenshots/ (the end-to-end journeys, saving what they see).
screenshots: web
	./scripts/ensure-deps.sh --browser
	$(CARGO) build -p docket-server --bin docket
	cd clients/web && DOCKET_SCREENSHOTS=1 DOCKET_BIN=$(TARGET_DIR)/debug/docket npm run --silent e2e

## Build the web client into clients/web/dist.
web:
	./scripts/build-web.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --features docket-protocol/ts -- -D warnings

fmt:
	$(CARGO) fmt --all

deps:
	./scripts/ensure-deps.sh

build:
	$(CARGO) build --workspace

## Regenerate the web client's TypeScript protocol types from protocol/.
protocol-ts:
	DOCKET_UPDATE_TS=1 $(CARGO) test -p docket-protocol --features ts --test typescript

## Recreate the development database from the migrations (for writing new queries).
dev-db: deps
	psql "$(dir $(DEV_DATABASE_URL))postgres" -qc 'drop database if exists $(notdir $(DEV_DATABASE_URL))' -c 'create database $(notdir $(DEV_DATABASE_URL))'
	DOCKET_MIGRATION_DATABASE_URL=$(DEV_DATABASE_URL) $(CARGO) run -q -p docket-server --bin docket -- migrate

## Regenerate .sqlx/ after changing a query (needs `make dev-db`).
sqlx-prepare:
	rm -rf .sqlx && mkdir .sqlx
	touch server/src/lib.rs
	SQLX_OFFLINE=false DATABASE_URL=$(DEV_DATABASE_URL) SQLX_OFFLINE_DIR=$(CURDIR)/.sqlx $(CARGO) check --workspace --all-targets

## Fuzz the parsers with cargo fuzz (nightly; never part of `make test`): each of FUZZ_TARGETS for
## FUZZ_SECONDS, one at a time, from the committed seeds plus those intake's tests build. A crash
## lands in fuzz/artifacts/<target>/; see docs/decisions/0018-parser-fuzzing.md.
FUZZ_SECONDS ?= 300
FUZZ_TARGETS ?= frame intake zip cfb filename
fuzz:
	./scripts/ensure-cargo-fuzz.sh
	DOCKET_FUZZ_SEEDS=$(CURDIR)/fuzz/corpus/built $(CARGO) test -p docket-server --lib intake::fuzz_tests::seeds
	set -e; cd fuzz; for target in $(FUZZ_TARGETS); do \
	  mkdir -p corpus/$$target; \
	  seeds=corpus/built; [ $$target != frame ] || seeds=seeds/frame; \
	  nice -n 10 cargo +nightly fuzz run $$target corpus/$$target $$seeds -- \
	    -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -timeout=10 -print_final_stats=1; \
	done
