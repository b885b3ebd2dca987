#!/bin/bash
# Liveness: mariadbd answers on its socket (mariadb-admin ping succeeds even when access is denied),
# or the entrypoint is still initialising the data directory.
set -uo pipefail
socket="${MARIADB_SOCKET:-/run/mysqld/mysqld.sock}"
if timeout 5 mariadb-admin --no-defaults --socket="$socket" --connect-timeout=3 ping >/dev/null 2>&1; then
    exit 0
fi
if [ -e "$(dirname "$socket")/init-in-progress" ]; then
    echo "db-alive: initialisation in progress" >&2
    exit 0
fi
echo "db-alive: mariadbd does not answer on $socket" >&2
exit 1
