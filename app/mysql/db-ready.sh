#!/bin/bash
# Readiness: the server accepts the application user over TCP and still runs with durable settings.
# Uses MYSQL_USER/MYSQL_PASSWORD when set, else root with MYSQL_ROOT_PASSWORD; MARIADB_PORT as the entrypoint.
set -euo pipefail
user="${MYSQL_USER:-root}"
if [ -n "${MYSQL_USER:-}" ]; then password="${MYSQL_PASSWORD:-}"; else password="${MYSQL_ROOT_PASSWORD:-}"; fi
# MYSQL_PWD keeps the password out of the process list; timeouts keep a hung server from hanging the probe.
durable="$(MYSQL_PWD="$password" timeout 5 mariadb --no-defaults --protocol=TCP --host=127.0.0.1 \
    --port="${MARIADB_PORT:-3306}" --user="$user" --connect-timeout=3 --batch --skip-column-names \
    --execute="SELECT @@innodb_flush_log_at_trx_commit = 1 AND @@innodb_doublewrite = 1
               AND (@@log_bin = 0 OR @@sync_binlog = 1)")"
if [ "$durable" != 1 ]; then
    echo "db-ready: server answers but durability settings are not in effect" >&2
    exit 1
fi
