#!/bin/sh
# Render the nginx config from SERVER_URI and run nginx in the foreground.
# Usage: frontend-entrypoint [render|check]   (no argument: render, then exec nginx)
# Environment: SERVER_URI (required, e.g. http://todo-backend:8080; several comma-separated URIs allowed),
#   LISTEN_PORT (8080), RUN_DIR (/tmp/nginx), WEB_ROOT (/usr/share/nginx/html),
#   NGINX_TEMPLATE (/etc/nginx/templates/nginx.conf.template), NGINX_BIN (nginx).
set -eu

LISTEN_PORT="${LISTEN_PORT:-8080}"
RUN_DIR="${RUN_DIR:-/tmp/nginx}"
WEB_ROOT="${WEB_ROOT:-/usr/share/nginx/html}"
NGINX_TEMPLATE="${NGINX_TEMPLATE:-/etc/nginx/templates/nginx.conf.template}"
NGINX_BIN="${NGINX_BIN:-nginx}"
# How often a single Service address is listed: each entry is one more try on a fresh connection.
UPSTREAM_REPEAT=3

die() {
    echo "frontend-entrypoint: $*" >&2
    exit 64
}

if [ -z "${SERVER_URI:-}" ]; then
    die "SERVER_URI is not set; set it to the back end's base URL, e.g. http://todo-backend:8080" \
        "(ConfigMap frontend-config, key server-uri)"
fi
case "$LISTEN_PORT" in
    '' | *[!0-9]*) die "LISTEN_PORT must be a port number, got '$LISTEN_PORT'" ;;
esac

# Turn each http://host[:port][/] into an upstream "server host:port" line; anything else is refused here,
# with the offending value, rather than by nginx with a less obvious message.
servers=""
count=0
old_ifs=$IFS
IFS=','
for uri in $SERVER_URI; do
    IFS=$old_ifs
    uri=$(printf '%s' "$uri" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
    case "$uri" in
        http://*) ;;
        *) die "SERVER_URI entry '$uri' must start with http:// (e.g. http://todo-backend:8080)" ;;
    esac
    hostport=${uri#http://}
    hostport=${hostport%/}
    case "$hostport" in
        '' | */* | *[!A-Za-z0-9.:_-]*)
            die "SERVER_URI entry '$uri' must be http://host[:port] with no path" ;;
    esac
    case "$hostport" in
        *:*) ;;
        *) hostport="$hostport:80" ;;
    esac
    servers="$servers        server $hostport max_fails=0;
"
    count=$((count + 1))
done
IFS=$old_ifs
[ "$count" -gt 0 ] || die "SERVER_URI '$SERVER_URI' names no back end"
if [ "$count" -eq 1 ]; then
    line=$servers
    i=1
    while [ "$i" -lt "$UPSTREAM_REPEAT" ]; do
        servers="$servers$line"
        i=$((i + 1))
    done
fi
UPSTREAM_SERVERS=$(printf '%s' "$servers")

[ -r "$NGINX_TEMPLATE" ] || die "template $NGINX_TEMPLATE is not readable"
mkdir -p "$RUN_DIR"
export SERVER_URI LISTEN_PORT RUN_DIR WEB_ROOT UPSTREAM_SERVERS
# Only these names are substituted; nginx's own $variables in the template are left alone.
# shellcheck disable=SC2016  # the single quotes are the point: envsubst gets the literal names
envsubst '${SERVER_URI} ${LISTEN_PORT} ${RUN_DIR} ${WEB_ROOT} ${UPSTREAM_SERVERS}' \
    <"$NGINX_TEMPLATE" >"$RUN_DIR/nginx.conf"

case "${1:-}" in
    render)
        echo "$RUN_DIR/nginx.conf"
        exit 0
        ;;
    check)
        exec "$NGINX_BIN" -t -p "$RUN_DIR" -c "$RUN_DIR/nginx.conf" -e stderr
        ;;
    '') ;;
    *) die "unknown argument '$1' (expected: render, check, or none)" ;;
esac

echo "frontend-entrypoint: proxying /api/ to $SERVER_URI, listening on $LISTEN_PORT" >&2
exec "$NGINX_BIN" -p "$RUN_DIR" -c "$RUN_DIR/nginx.conf" -e stderr -g 'daemon off;'
