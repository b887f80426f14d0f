# Install, start and stop the real servers deskbridge's tests use. Sourced by scripts/test.
# Recipes follow ../shared/reference/test-servers.md. Everything binds 127.0.0.1.
# Exports, for the tests:
#   DESKBRIDGE_TEST_LDAP_URL, DESKBRIDGE_TEST_LDAP_STARTTLS_URL, DESKBRIDGE_TEST_LDAP_BIND,
#   DESKBRIDGE_TEST_LDAP_PASSWORD, DESKBRIDGE_TEST_LDAP_BASE_DN, DESKBRIDGE_TEST_LDAP_CA
#   DESKBRIDGE_TEST_DATABASE_URL

SAMBA_ADMIN_PASS='Passw0rd!Admin'
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_PORT=${DESKBRIDGE_TEST_PG_PORT:-55432}

as_root() {
    if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

install_test_packages() {
    local wanted=(tmux samba samba-ad-dc samba-ad-provision winbind krb5-user ldap-utils openssl postgresql-15)
    local missing=()
    for pkg in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
    done
    if ((${#missing[@]})); then
        echo "installing: ${missing[*]}"
        as_root apt-get update -qq
        # policy-rc.d keeps the packages' own services from starting; the tests start their own.
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

wait_until() { # wait_until SECONDS DESCRIPTION COMMAND...
    local deadline=$((SECONDS + $1)) what=$2
    shift 2
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS > deadline)); then
            echo "timed out waiting for $what" >&2
            return 1
        fi
        sleep 0.2
    done
}

# A CA and a server certificate with SANs, so clients can verify the DC instead of trusting anything.
make_test_certs() {
    local dir=$1
    mkdir -p "$dir"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=deskbridge test CA" \
        -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=dc.lab.example" \
        -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,DNS:dc.lab.example\n' >"$dir/san.ext"
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
        -days 2 -extfile "$dir/san.ext" -out "$dir/server.pem" 2>/dev/null
    chmod 600 "$dir/server.key"
}

start_samba_dc() {
    local d=$1
    if ss -ltn 2>/dev/null | grep -qE '127\.0\.0\.1:636\b|\*:636\b|0\.0\.0\.0:636\b'; then
        echo "port 636 is taken: another LDAP server (or Samba DC) is running; stop it first" >&2
        return 1
    fi
    rm -rf "$d"
    mkdir -p "$d"
    samba-tool domain provision --use-rfc2307 --realm=LAB.EXAMPLE --domain=LAB --server-role=dc \
        --dns-backend=NONE --adminpass="$SAMBA_ADMIN_PASS" --targetdir="$d" --host-ip=127.0.0.1 \
        --option="interfaces=lo" --option="bind interfaces only=yes" \
        --option="pid directory=$d/run" --option="ncalrpc dir=$d/run/ncalrpc" \
        --option="winbindd socket directory=$d/run/winbindd" \
        --option="ntp signd socket directory=$d/run/ntp_signd" \
        --option="log file=$d/log/log.%m" \
        --option="server services=ldap cldap kdc rpc drepl winbindd" >"$d/provision.log" 2>&1 || {
        cat "$d/provision.log" >&2
        return 1
    }
    mkdir -p "$d/run" "$d/log" "$d/cache"
    make_test_certs "$d/tls"
    sed -i "/^\[global\]/a\\
\ttls enabled = yes\\
\ttls keyfile = $d/tls/server.key\\
\ttls certfile = $d/tls/server.pem\\
\ttls cafile = $d/tls/ca.pem" "$d/etc/smb.conf"
    samba -s "$d/etc/smb.conf" -M single -D
    export LDAPTLS_CACERT="$d/tls/ca.pem"
    wait_until 60 "the Samba DC (LDAPS on 127.0.0.1:636)" \
        ldapsearch -LLL -H ldaps://127.0.0.1 -x -D Administrator@lab.example -w "$SAMBA_ADMIN_PASS" \
        -b '' -s base dnsHostName
    # Test-friendly policy: no minimum age or history, lockout after 3 bad passwords.
    samba-tool domain passwordsettings set --min-pwd-age=0 --history-length=0 \
        --account-lockout-threshold=3 --account-lockout-duration=1 --reset-account-lockout-after=1 \
        -s "$d/etc/smb.conf" >/dev/null
    export DESKBRIDGE_TEST_LDAP_URL=ldaps://127.0.0.1:636
    export DESKBRIDGE_TEST_LDAP_STARTTLS_URL=ldap://127.0.0.1:389
    export DESKBRIDGE_TEST_LDAP_BIND=Administrator@lab.example
    export DESKBRIDGE_TEST_LDAP_PASSWORD=$SAMBA_ADMIN_PASS
    export DESKBRIDGE_TEST_LDAP_BASE_DN=DC=lab,DC=example
    export DESKBRIDGE_TEST_LDAP_CA="$d/tls/ca.pem"
    SAMBA_DIR=$d
}

start_postgres() {
    local d=$1
    install -d -o postgres -g postgres "$d"
    su postgres -c "$PG_BIN/initdb -D $d/data -U postgres -A trust -E UTF8 --no-sync" >"$d/initdb.log" 2>&1 || {
        cat "$d/initdb.log" >&2
        return 1
    }
    su postgres -c "$PG_BIN/pg_ctl -D $d/data -l $d/server.log -w -t 30 -o \"-p $PG_PORT -k $d -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off\" start" >/dev/null
    psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -q -c "create role deskbridge login password 'deskbridge' createdb" \
        -c "create database deskbridge_test owner deskbridge" >/dev/null
    export DESKBRIDGE_TEST_DATABASE_URL="postgres://deskbridge:deskbridge@127.0.0.1:$PG_PORT/deskbridge_test"
    # For tests that run a PostgreSQL of their own (to restart it under a running adapter).
    export DESKBRIDGE_TEST_PG_BIN="$PG_BIN"
    PG_DIR=$d
}

stop_test_servers() {
    if [[ -n "${PG_DIR:-}" ]]; then
        su postgres -c "$PG_BIN/pg_ctl -D $PG_DIR/data -m fast -w stop" >/dev/null 2>&1 || true
    fi
    if [[ -n "${SAMBA_DIR:-}" && -f "$SAMBA_DIR/run/samba.pid" ]]; then
        kill -TERM "$(cat "$SAMBA_DIR/run/samba.pid")" 2>/dev/null || true
        # Samba's children take a moment to go; wait so the fixed LDAP ports are free for the next run.
        wait_until 10 "Samba to stop" bash -c "! ss -ltn | grep -q ':636 '" || true
    fi
}
