# The platform's two commands:
#
#   make run    install what is missing, build, start everything (demo data)
#   make test   the same bring-up on test ports, then the Test::Nginx suites
#
# and: make build | stop | status | clean

SHELL := /bin/bash

ROOT := $(CURDIR)
BUILD ?= $(ROOT)/build
override BUILD := $(abspath $(BUILD))
NGX_SRC := /usr/share/nginx/src
NGX_BUILD := $(BUILD)/nginx
MODULES := $(NGX_BUILD)/objs/ngx_http_twitch_module.so \
           $(NGX_BUILD)/objs/ngx_http_twitch_chat_module.so
RTMP_MODULE := /usr/lib/nginx/modules/ngx_rtmp_module.so

# Debian packages the build, the platform, the tests and bench/ need (the
# only list; libnginx-mod-nchan is bench/chat's peer)
DEB_PACKAGES := \
    build-essential pkg-config curl ca-certificates \
    nginx nginx-dev libnginx-mod-rtmp libnginx-mod-nchan \
    libpq-dev libhiredis-dev libyajl-dev libcrypt-dev \
    postgresql-15 postgresql-client-15 redis-server \
    libtest-base-perl libipc-run-perl libtext-diff-perl \
    liblist-moreutils-perl libjson-pp-perl \
    ffmpeg libavformat-dev libavcodec-dev libavfilter-dev libswscale-dev \
    libswresample-dev libavutil-dev nodejs chromium wrk time

# make run: HTTP and RTMP on every interface (OBS and viewers on other
# machines); LISTEN=127.0.0.1 keeps them to this machine
LISTEN ?= 0.0.0.0
HTTP_PORT ?= 8080
RTMP_PORT ?= 1935
PG_PORT ?= 54329
REDIS_PORT ?= 63799
RUN_ENV := TWITCH_VAR=$(ROOT)/var MODULES_DIR=$(NGX_BUILD)/objs \
           LISTEN=$(LISTEN) HTTP_PORT=$(HTTP_PORT) \
           RTMP_PORT=$(RTMP_PORT) PG_PORT=$(PG_PORT) REDIS_PORT=$(REDIS_PORT)

# make test: its own ports and directories, so it runs beside make run
TEST_VAR ?= $(ROOT)/var/test
override TEST_VAR := $(abspath $(TEST_VAR))
TEST_HTTP_PORT ?= 19840
TEST_RTMP_PORT ?= 19350
TEST_PG_PORT ?= 25432
TEST_REDIS_PORT ?= 26379
TEST_ENV := TWITCH_VAR=$(TEST_VAR) MODULES_DIR=$(NGX_BUILD)/objs \
            HTTP_PORT=$(TEST_HTTP_PORT) \
            RTMP_PORT=$(TEST_RTMP_PORT) PG_PORT=$(TEST_PG_PORT) \
            REDIS_PORT=$(TEST_REDIS_PORT) PG_FSYNC=off REDIS_SAVE=""
PROVE_ENV := $(TEST_ENV) \
    TWITCH_PLATFORM="$(ROOT)/conf/platform.sh" \
    TEST_NGINX_BINARY=/usr/sbin/nginx \
    TEST_NGINX_LOAD_MODULES="$(RTMP_MODULE) $(MODULES)" \
    TEST_NGINX_PORT=$(TEST_HTTP_PORT) \
    TEST_NGINX_RTMP_PORT=$(TEST_RTMP_PORT) \
    TEST_NGINX_SERVROOT=$(TEST_VAR)/servroot \
    TEST_NGINX_PG="host=127.0.0.1 port=$(TEST_PG_PORT) dbname=twitch \
user=twitch password=twitch connect_timeout=3 \
options='-c timezone=UTC'" \
    TEST_NGINX_PG_PORT=$(TEST_PG_PORT) \
    TEST_NGINX_REDIS=127.0.0.1:$(TEST_REDIS_PORT) \
    TEST_NGINX_REDIS_PORT=$(TEST_REDIS_PORT)
T ?= t/

MODULE_SRCS := config $(wildcard ngx_twitch_module/*.[ch]) \
               $(wildcard ngx_twitch_chat/*.[ch])

.PHONY: all run stop status test build deps clean web hooks

all: build

deps:
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' "$$p" 2>/dev/null | \
	        grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "installing Debian packages:$$missing"; \
	    sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	    $$sudo apt-get update -q && \
	    DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q \
	        --no-install-recommends $$missing; \
	fi

build: deps $(MODULES) web hooks

# rtmp-hooks/: the transcoder (twitch_transcode), run per live stream
hooks: deps
	@$(MAKE) --no-print-directory -C rtmp-hooks

# the web app: npm ci from the lockfile, then a static build in web/dist
WEB_SRCS := $(shell find web/src web/public web/index.html web/vite.config.ts \
    web/package.json web/package-lock.json web/tsconfig*.json -type f \
    2>/dev/null)

web: web/dist/index.html

web/node_modules/.package-lock.json: web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

web/dist/index.html: web/node_modules/.package-lock.json $(WEB_SRCS)
	cd web && npm run build --silent
	@touch $@

# configure lists the sources: run it again when files come or go
SRC_LIST := $(BUILD)/sources.list
$(shell mkdir -p $(BUILD) && ls config ngx_twitch_module/*.[ch] \
    ngx_twitch_chat/*.[ch] 2>/dev/null > $(SRC_LIST).new && \
    (cmp -s $(SRC_LIST).new $(SRC_LIST) || mv $(SRC_LIST).new $(SRC_LIST)))

$(NGX_BUILD)/objs/Makefile: config $(SRC_LIST)
	rm -rf $(NGX_BUILD)
	mkdir -p $(BUILD)
	cp -r $(NGX_SRC) $(NGX_BUILD)
	cd $(NGX_BUILD) && . ./conf_flags && \
	    ./configure "$${NGX_CONF_FLAGS[@]}" --with-cc-opt=-Werror \
	        --add-dynamic-module=$(ROOT) >$(BUILD)/configure.log 2>&1 || \
	    { tail -n 30 $(BUILD)/configure.log; exit 1; }

$(MODULES): $(NGX_BUILD)/objs/Makefile $(MODULE_SRCS)
	$(MAKE) -C $(NGX_BUILD) -f objs/Makefile modules
	@touch $(MODULES)

run: build
	@$(RUN_ENV) conf/platform.sh up
	@echo
	@echo "The platform is up:"
	@echo "  web and API   http://127.0.0.1:$(HTTP_PORT)/  (health: /api/health)"
	@echo "  RTMP ingest   rtmp://127.0.0.1:$(RTMP_PORT)/live  (OBS: the stream" \
	      "key from the dashboard)"
	@echo "  demo stream   http://127.0.0.1:$(HTTP_PORT)/shroud  (a test pattern;" \
	      "DEMO_CHANNEL= turns it off)"
	@echo "  PostgreSQL    127.0.0.1:$(PG_PORT)  Redis 127.0.0.1:$(REDIS_PORT)"
	@echo "  logs          var/log/"
	@echo "  demo accounts shroud, pokimane, xqc, ninja, admin;" \
	      "password demo1234"
	@[ "$(LISTEN)" = 127.0.0.1 ] || echo "  nginx listens on $(LISTEN):" \
	    "other machines use this one's address instead of 127.0.0.1" \
	    "(make run LISTEN=127.0.0.1 keeps it local)"
	@echo "Stop it with: make stop"

stop:
	@$(RUN_ENV) conf/platform.sh down
	@$(TEST_ENV) conf/platform.sh down

status:
	@$(RUN_ENV) conf/platform.sh status

test: build
	cd web && npm test --silent
	@$(TEST_ENV) conf/platform.sh pg start
	@$(TEST_ENV) conf/platform.sh redis start
	@$(TEST_ENV) conf/platform.sh db-reset
	@perl -MTest::Nginx::Socket -e1 2>/dev/null || \
	    export PERL5LIB=$(ROOT)/t/lib/fallback; \
	$(PROVE_ENV) prove -I t/lib -r $(T); rc=$$?; \
	$(TEST_ENV) conf/platform.sh redis stop; \
	$(TEST_ENV) conf/platform.sh pg stop; \
	exit $$rc

clean:
	-@$(RUN_ENV) conf/platform.sh down 2>/dev/null
	-@$(TEST_ENV) conf/platform.sh down 2>/dev/null
	rm -rf var build
