#!/bin/sh
# Write the runtime config (config.js, from SERVER_URI) and nginx's config, then run nginx in the foreground.
# Usage: frontend-entrypoint [render]   (render: write both files, print the run directory, exit)
# Environment: SERVER_URI (required: the back end as the browser reaches it, host[:port] as in the article,
#   or http://host[:port]), LISTEN_PORT (8080), RUN_DIR (/tmp/nginx), WEB_ROOT (/usr/share/nginx/html),
#   NGINX_BIN (nginx), MIME_TYPES (/etc/nginx/mime.types).
set -eu

LISTEN_PORT="${LISTEN_PORT:-8080}"
RUN_DIR="${RUN_DIR:-/tmp/nginx}"
WEB_ROOT="${WEB_ROOT:-/usr/share/nginx/html}"
NGINX_BIN="${NGINX_BIN:-nginx}"
MIME_TYPES="${MIME_TYPES:-/etc/nginx/mime.types}"

die() {
    echo "frontend-entrypoint: $*" >&2
    exit 64
}

[ -n "${SERVER_URI:-}" ] || die "SERVER_URI is not set; set it to the back end's address as the browser reaches it," \
    "e.g. 203.0.113.7 or 127.0.0.1:30081 (ConfigMap backend-conf, key server-uri)"
case "$LISTEN_PORT" in
    '' | *[!0-9]*) die "LISTEN_PORT must be a port number, got '$LISTEN_PORT'" ;;
esac
# The value lands inside a JavaScript string: allow only what a host, port and scheme need, so nothing needs escaping.
case "$SERVER_URI" in
    *[!A-Za-z0-9.:/_-]*) die "SERVER_URI '$SERVER_URI' must be host[:port] or http://host[:port] (letters, digits, . : / _ -)" ;;
esac
[ -f "$WEB_ROOT/index.html" ] || die "no index.html in WEB_ROOT $WEB_ROOT"

mkdir -p "$RUN_DIR"
printf 'window.TODO_CONFIG = { serverUri: "%s" };\n' "$SERVER_URI" >"$RUN_DIR/config.js"
cat >"$RUN_DIR/nginx.conf" <<CONF
worker_processes 1;
pid $RUN_DIR/nginx.pid;
error_log stderr warn;
events { worker_connections 512; }
http {
    include $MIME_TYPES;
    access_log off;
    client_body_temp_path $RUN_DIR/client_body;
    proxy_temp_path $RUN_DIR/proxy;
    fastcgi_temp_path $RUN_DIR/fastcgi;
    uwsgi_temp_path $RUN_DIR/uwsgi;
    scgi_temp_path $RUN_DIR/scgi;
    server {
        listen $LISTEN_PORT;
        root $WEB_ROOT;
        # Written at start from SERVER_URI: never cache it, or a changed ConfigMap would not reach browsers.
        location = /config.js {
            alias $RUN_DIR/config.js;
            add_header Cache-Control "no-store";
        }
        # A cheap health check for probes: nginx answers, whatever the back end does.
        location = /healthz {
            default_type text/plain;
            return 200 "ok\n";
        }
        location = /index.html {
            add_header Cache-Control "no-cache";
        }
        location / {
            try_files \$uri \$uri/ /index.html;
        }
    }
}
CONF

if [ "${1:-}" = "render" ]; then
    echo "$RUN_DIR"
    exit 0
fi
[ -z "${1:-}" ] || die "unknown argument '$1' (expected: render, or none)"
echo "frontend-entrypoint: the browser code calls http://$SERVER_URI/graphql; listening on $LISTEN_PORT" >&2
exec "$NGINX_BIN" -p "$RUN_DIR" -c "$RUN_DIR/nginx.conf" -e stderr -g 'daemon off;'
