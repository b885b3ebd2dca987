#!/bin/bash
# MariaDB entrypoint honouring the official mysql image's contract:
#   MYSQL_ROOT_PASSWORD (required to initialise), MYSQL_DATABASE, MYSQL_USER + MYSQL_PASSWORD (optional).
# Initialises an empty data directory once (a lone lost+found is fine), never touches an initialised one,
# checks the durability settings, then execs mariadbd as this process (PID 1 in the container).
# Paths are overridable so the tests can run it on a host without root-owned paths:
#   MARIADB_DATADIR (/var/lib/mysql), MARIADB_SOCKET (/run/mysqld/mysqld.sock), MARIADB_PORT (3306),
#   MARIADB_BIND_ADDRESS (0.0.0.0), MARIADB_CONF (/etc/mysql/todo.cnf), MARIADB_INIT_TIMEOUT (60 seconds).
set -euo pipefail

DATADIR="${MARIADB_DATADIR:-/var/lib/mysql}"
SOCKET="${MARIADB_SOCKET:-/run/mysqld/mysqld.sock}"
PORT="${MARIADB_PORT:-3306}"
BIND_ADDRESS="${MARIADB_BIND_ADDRESS:-0.0.0.0}"
CONF="${MARIADB_CONF:-/etc/mysql/todo.cnf}"
INIT_TIMEOUT="${MARIADB_INIT_TIMEOUT:-60}"
RUN_DIR="$(dirname "$SOCKET")"
# Initialisation happens here, inside the data directory (same filesystem, so the final moves are renames).
STAGING="$DATADIR/.todo-init"
INIT_MARKER="$RUN_DIR/init-in-progress"

log() { echo "db-entrypoint: $*" >&2; }
die() {
    log "ERROR: $*"
    exit 64
}

# Options shared by the init-time server and the real one; the option file comes first as mariadbd requires.
server_opts=(--defaults-file="$CONF" --socket="$SOCKET" --pid-file="$RUN_DIR/mariadbd.pid")

# --- 1. Drop privileges: as root, prepare ownership and re-run this script as the mysql user. ---
if [ "$(id -u)" = 0 ]; then
    mkdir -p "$DATADIR" "$RUN_DIR"
    # Only files not yet owned by mysql are changed, so restarts on a large volume stay fast.
    find "$DATADIR" "$RUN_DIR" \! -user mysql -exec chown mysql:mysql '{}' +
    chmod 0750 "$DATADIR"
    exec setpriv --reuid=mysql --regid=mysql --init-groups -- "$BASH" "$0" "$@"
fi

[ -r "$CONF" ] || die "option file $CONF is not readable"
if [ ! -d "$DATADIR" ] || [ ! -w "$DATADIR" ]; then
    die "data directory $DATADIR is missing or not writable by $(id -un)"
fi
mkdir -p "$RUN_DIR"

# --- 2. The command line, normalised so that what is checked below is exactly what mariadbd runs with. ---
# mariadbd takes no positional arguments, so a word after a long option is that option's value: join it
# ("--sync-binlog 0" -> "--sync-binlog=0"). Left apart, an option with an optional value would take its
# default in the check while mariadbd then aborts on the stray word.
cli_args=()
while [ $# -gt 0 ]; do
    arg="$1"
    shift
    if [[ "$arg" == --* && "$arg" != *=* && $# -gt 0 && "$1" != -* ]]; then
        arg="$arg=$1"
        shift
    fi
    name="${arg%%=*}"
    if [ "${name//_/-}" = --ignore-db-dir ]; then
        [ "$arg" != "$name" ] || die "$arg needs a directory name (--ignore-db-dir=lost+found)"
        # MySQL 5.7's option (the walk-through's manifests pass --ignore-db-dir=lost+found); MariaDB's is
        # ignore-db-dirs and takes the old name only as an "error-prone" prefix, so say it in MariaDB's words.
        if [ "${arg#*=}" = lost+found ]; then
            log "dropping MySQL's $arg: MariaDB ignores lost+found already (ignore_db_dirs in $CONF)"
            continue
        fi
        log "MySQL's $arg is MariaDB's --ignore-db-dirs=${arg#*=}"
        arg="--ignore-db-dirs=${arg#*=}"
    fi
    cli_args+=("$arg")
done
set -- "${cli_args[@]+"${cli_args[@]}"}"

# --- 3. Durability: refuse to start unless the effective options (file + command line) are the durable ones.
options_err="$RUN_DIR/options-check.err"
effective="$(mariadbd "${server_opts[@]}" --datadir="$DATADIR" --verbose --help "$@" 2>"$options_err")" \
    || die "mariadbd could not parse its options (mariadbd ${server_opts[*]} $*):" \
        "$(grep -v Warning "$options_err" | tail -n 3)"
rm -f "$options_err"
option_value() { awk -v name="$1" '$1 == name { print $2; exit }' <<<"$effective"; }
set_by() {
    # Where a setting comes from, for the error: the command-line words naming it (any spelling), else the file.
    local want="$1" arg name words=""
    shift
    for arg in "$@"; do
        name="${arg%%=*}"
        case "${name//_/-}" in *"$want"*) words+=" $arg" ;; esac
    done
    if [ -n "$words" ]; then
        echo "set on the command line:$words"
    elif [ $# -gt 0 ]; then
        echo "set in $CONF or by an abbreviated option among: $*"
    else
        echo "set in $CONF"
    fi
}
value="$(option_value innodb-flush-log-at-trx-commit)"
[ "$value" = 1 ] || die "innodb_flush_log_at_trx_commit is '$value', must be 1" \
    "($(set_by flush-log-at-trx-commit "$@")); the image runs only with durable settings"
value="$(option_value innodb-doublewrite)"
case "$value" in
    TRUE | ON | 1) ;;
    *) die "innodb_doublewrite is '$value', must be on ($(set_by doublewrite "$@")); the image runs only with" \
        "durable settings" ;;
esac
value="$(option_value sync-binlog)"
# Required even while the binary log is off: the promise (and the line logged below) holds whatever is enabled.
[ "$value" = 1 ] || die "sync_binlog is '$value', must be 1 ($(set_by sync-binlog "$@")); the image runs only" \
    "with durable settings"
log "durability settings verified (innodb_flush_log_at_trx_commit=1, innodb_doublewrite=on, sync_binlog=1)"

sql_string() {
    # Quote a value as an SQL string literal (backslash and quote escaped), for passwords and names.
    local value="${1//\\/\\\\}"
    printf "'%s'" "${value//\'/\\\'}"
}
sql_identifier() {
    local value="${1//\`/\`\`}"
    # shellcheck disable=SC2016  # literal backticks: MariaDB's identifier quotes
    printf '`%s`' "$value"
}

wait_for_socket() {
    # Bounded wait until the server started by init answers on its socket.
    local pid="$1" deadline=$((SECONDS + INIT_TIMEOUT))
    while [ "$SECONDS" -lt "$deadline" ]; do
        if mariadb-admin --no-defaults --socket="$SOCKET" --user=root ping >/dev/null 2>&1; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || die "the init-time server exited early; see the log above"
        sleep 0.2
    done
    die "the init-time server did not answer within ${INIT_TIMEOUT}s"
}

initialise() {
    # Build a complete data directory in STAGING, then move it into place with mysql/ last, so a crash at any
    # point leaves either no mysql/ (next start retries) or a finished one (next start never re-initialises).
    [ -n "${MYSQL_ROOT_PASSWORD:-}" ] || die "database is uninitialised and MYSQL_ROOT_PASSWORD is not set" \
        "(Secret db-root-credentials, key password); refusing to create a root account without a password"
    if [ -n "${MYSQL_USER:-}" ] || [ -n "${MYSQL_PASSWORD:-}" ]; then
        if [ -z "${MYSQL_USER:-}" ] || [ -z "${MYSQL_PASSWORD:-}" ]; then
            die "MYSQL_USER and MYSQL_PASSWORD must be set together"
        fi
        [ "$MYSQL_USER" != root ] || die "MYSQL_USER=root is not allowed; root is configured by MYSQL_ROOT_PASSWORD"
    fi

    log "initialising an empty data directory $DATADIR"
    touch "$INIT_MARKER"
    rm -rf "$STAGING"
    mkdir "$STAGING"
    mariadb-install-db --defaults-file="$CONF" --datadir="$STAGING" --auth-root-authentication-method=normal \
        --skip-test-db --skip-name-resolve >&2 \
        || die "mariadb-install-db failed"

    # No network while users are created: only this script can reach the server, through the socket.
    mariadbd "${server_opts[@]}" --datadir="$STAGING" --skip-networking >&2 &
    local pid=$!
    wait_for_socket "$pid"

    local root_pw user_sql=""
    root_pw="$(sql_string "$MYSQL_ROOT_PASSWORD")"
    if [ -n "${MYSQL_DATABASE:-}" ]; then
        user_sql+="CREATE DATABASE IF NOT EXISTS $(sql_identifier "$MYSQL_DATABASE");"
    fi
    if [ -n "${MYSQL_USER:-}" ]; then
        local user
        user="$(sql_string "$MYSQL_USER")"
        user_sql+="CREATE USER $user@'%' IDENTIFIED BY $(sql_string "$MYSQL_PASSWORD");"
        if [ -n "${MYSQL_DATABASE:-}" ]; then
            user_sql+="GRANT ALL ON $(sql_identifier "$MYSQL_DATABASE").* TO $user@'%';"
        fi
    fi
    # SQL goes through stdin, never argv, so passwords do not show up in the process list.
    mariadb --no-defaults --socket="$SOCKET" --user=root --batch >&2 <<-SQL || die "creating users failed"
		SET @@SESSION.SQL_LOG_BIN = 0;
		DELETE FROM mysql.global_priv WHERE User = '' OR (User = 'root' AND Host NOT IN ('localhost'));
		DELETE FROM mysql.proxies_priv WHERE User = '';
		FLUSH PRIVILEGES;
		ALTER USER 'root'@'localhost' IDENTIFIED BY $root_pw;
		CREATE USER 'root'@'%' IDENTIFIED BY $root_pw;
		GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;
		$user_sql
		FLUSH PRIVILEGES;
	SQL

    # SIGTERM is a clean shutdown; wait for it so the files are consistent before they move.
    kill -TERM "$pid"
    wait "$pid" || die "the init-time server did not shut down cleanly"

    local entry
    for entry in "$STAGING"/* "$STAGING"/.[!.]*; do
        [ -e "$entry" ] || continue
        [ "$(basename "$entry")" = mysql ] && continue
        mv "$entry" "$DATADIR/"
    done
    sync "$DATADIR"
    mv "$STAGING/mysql" "$DATADIR/mysql"
    sync "$DATADIR"
    rmdir "$STAGING"
    rm -f "$INIT_MARKER"
    log "initialisation complete"
}

# --- 4. Initialise once: an existing mysql/ system schema means the directory is in use, whatever else. ---
if [ -d "$DATADIR/mysql" ]; then
    log "data directory $DATADIR is initialised (mysql/ present); starting without initialisation"
    # Left behind only if a crash hit between the last rename and its removal: it is empty then.
    if [ -d "$STAGING" ]; then
        rmdir "$STAGING" 2>/dev/null || true
    fi
else
    unknown="$(find "$DATADIR" -mindepth 1 -maxdepth 1 \! -name lost+found \! -name .todo-init -printf '%f ')"
    [ -z "$unknown" ] || die "data directory $DATADIR holds no mysql/ system schema but is not empty" \
        "($unknown); refusing to initialise over files this image did not create"
    initialise
fi
rm -f "$INIT_MARKER"

log "starting mariadbd on $BIND_ADDRESS:$PORT"
exec mariadbd "${server_opts[@]}" --datadir="$DATADIR" --port="$PORT" --bind-address="$BIND_ADDRESS" "$@"
