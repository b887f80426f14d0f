//! The PostgreSQL server that `scripts/test` starts (scripts/lib/servers.sh): a fresh database
//! on it for each test, so tests running in parallel never see each other's rows.
#![allow(dead_code)]

use std::time::Duration;

use sqlx::Connection;
use uuid::Uuid;

/// The server from `DESKBRIDGE_TEST_DATABASE_URL`. Without it the test is skipped (`None`) on
/// a developer machine, and fails under CI, where a skipped database test would hide a broken
/// setup.
pub fn server_url() -> Option<String> {
    match std::env::var("DESKBRIDGE_TEST_DATABASE_URL") {
        Ok(url) => Some(url),
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!(
                "DESKBRIDGE_TEST_DATABASE_URL is not set under CI: run the tests with scripts/test"
            )
        }
        Err(_) => {
            eprintln!(
                "skipped: no PostgreSQL (DESKBRIDGE_TEST_DATABASE_URL unset); run scripts/test"
            );
            None
        }
    }
}

/// A database of its own on the test server, dropped (with every connection to it) when the
/// value is dropped.
pub struct TestDatabase {
    /// `postgres://…/deskbridge_t_<uuid>`
    pub url: String,
    name: String,
    server: String,
}

impl TestDatabase {
    /// Creates an empty database; `None` when the test is skipped (see [`server_url`]).
    pub async fn create() -> Option<TestDatabase> {
        let server = server_url()?;
        let name = format!("deskbridge_t_{}", Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(&server)
            .await
            .expect("connect to the test PostgreSQL");
        // The name is ours (a UUID), never input.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create a test database");
        let _ = conn.close().await;
        let mut url = url::Url::parse(&server).expect("DESKBRIDGE_TEST_DATABASE_URL is a URL");
        url.set_path(&name);
        Some(TestDatabase {
            url: url.to_string(),
            name,
            server,
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        // Drop runs outside any runtime (or inside one that is shutting down): a thread of its
        // own with a small runtime drops the database without blocking the test's.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&server).await.ok()?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await
                .ok()
            })
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !dropped.is_finished() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl TestDatabase {
    /// The database's URL without its password, and the password, as an adapter.toml takes
    /// them (`store` and `store_password`: a password inside the URL is refused).
    pub fn url_and_password(&self) -> (String, String) {
        split_password(&self.url)
    }
}

/// Splits `postgres://user:password@host/db` into the URL without the password and the
/// password (empty when there is none).
pub fn split_password(url: &str) -> (String, String) {
    let mut parsed = url::Url::parse(url).expect("a PostgreSQL URL");
    let password = parsed.password().unwrap_or_default().to_owned();
    let _ = parsed.set_password(None);
    (parsed.to_string(), password)
}

/// The folder of PostgreSQL's programs (initdb, pg_ctl) from `DESKBRIDGE_TEST_PG_BIN`, for
/// tests that run a server of their own. Skipped (`None`) on a developer machine without it,
/// a failure under CI.
pub fn pg_bin() -> Option<std::path::PathBuf> {
    match std::env::var("DESKBRIDGE_TEST_PG_BIN") {
        Ok(dir) => Some(dir.into()),
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!("DESKBRIDGE_TEST_PG_BIN is not set under CI: run the tests with scripts/test")
        }
        Err(_) => {
            eprintln!("skipped: DESKBRIDGE_TEST_PG_BIN unset; run scripts/test");
            None
        }
    }
}

/// A PostgreSQL cluster of the test's own on a free loopback port, which the test may stop
/// and start under running adapters (the shared server must never be restarted). Run as the
/// `postgres` user, as scripts/lib/servers.sh does; stopped and removed when dropped.
pub struct OwnCluster {
    bin: std::path::PathBuf,
    dir: std::path::PathBuf,
    pub port: u16,
    /// `postgres://deskbridge@127.0.0.1:PORT/deskbridge`: no password in it.
    pub url: String,
    pub password: String,
}

impl OwnCluster {
    /// initdb, start, and a `deskbridge` role with a password that TCP connections must give
    /// (scram), owning a `deskbridge` database. `None` when skipped (see [`pg_bin`]).
    pub fn start(tag: &str) -> Option<OwnCluster> {
        let bin = pg_bin()?;
        let dir = std::env::temp_dir().join(format!(
            "deskbridge-pg-{tag}-{}-{}",
            std::process::id(),
            Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).expect("create the cluster folder");
        {
            use std::os::unix::fs::PermissionsExt;
            // The postgres user must reach the folder; the temp dir's parents allow it.
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
                .expect("chmod the cluster folder");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let password = format!("pw-{}", Uuid::new_v4().simple());
        let cluster = OwnCluster {
            url: format!("postgres://deskbridge@127.0.0.1:{port}/deskbridge"),
            bin,
            dir,
            port,
            password,
        };
        // Everything the server writes is in a folder the postgres user owns.
        let d = cluster.pg_dir();
        as_postgres(&format!("install -d -o postgres -g postgres {d}"), true);
        as_postgres(
            &format!(
                "{}/initdb -D {d}/data -U postgres --auth-local=trust --auth-host=scram-sha-256 \
                 -E UTF8 --no-sync >{d}/initdb.log 2>&1",
                cluster.bin.display()
            ),
            false,
        );
        cluster.start_server();
        let role = format!(
            "CREATE ROLE deskbridge LOGIN PASSWORD '{}'",
            cluster.password
        );
        as_postgres(
            &format!(
                "psql -h {d} -p {port} -U postgres -q -v ON_ERROR_STOP=1 -c \"{role}\" \
                 -c \"CREATE DATABASE deskbridge OWNER deskbridge\" >/dev/null"
            ),
            false,
        );
        Some(cluster)
    }

    fn pg_dir(&self) -> String {
        self.dir.join("pg").display().to_string()
    }

    /// `pg_ctl start`, waiting until it accepts connections.
    pub fn start_server(&self) {
        let d = self.pg_dir();
        as_postgres(
            &format!(
                "{}/pg_ctl -D {d}/data -l {d}/server.log -w -t 30 -o \"-p {} -k {d} \
                 -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
                 -c full_page_writes=off\" start >/dev/null",
                self.bin.display(),
                self.port
            ),
            false,
        );
    }

    /// `pg_ctl stop -m fast`: connections are cut, the server is gone when this returns.
    pub fn stop_server(&self) {
        let d = self.pg_dir();
        as_postgres(
            &format!(
                "{}/pg_ctl -D {d}/data -m fast -w -t 30 stop >/dev/null",
                self.bin.display()
            ),
            false,
        );
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let d = self.pg_dir();
        let _ = std::process::Command::new("su")
            .args([
                "postgres",
                "-c",
                &format!(
                    "{}/pg_ctl -D {d}/data -m immediate -w -t 30 stop",
                    self.bin.display()
                ),
            ])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `command` with `su postgres -c` (or as root when `as_root`), panicking with its output
/// when it fails.
fn as_postgres(command: &str, as_root: bool) {
    let output = if as_root {
        std::process::Command::new("sh")
            .args(["-c", command])
            .output()
    } else {
        std::process::Command::new("su")
            .args(["postgres", "-c", command])
            .output()
    }
    .expect("run a PostgreSQL command");
    assert!(
        output.status.success(),
        "{command}: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
