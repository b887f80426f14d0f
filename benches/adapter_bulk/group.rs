//! The adapters the bulk bench runs: one on a SQLite file (the default), or `BULK_REPLICAS`
//! replicas on a fresh database of the PostgreSQL server named by `BULK_DATABASE_URL`. Each
//! replica has its own pool and engine, as separate `deskbridge serve` processes would; the
//! bench's API server is on the first.

use std::sync::Arc;
use std::time::Duration;

use deskbridge::adapter::engine::{Engine, EngineOptions};
use deskbridge::adapter::replicas::ReplicaOptions;
use deskbridge::adapter::store::{PgStore, SqliteStore, Store};
use sqlx::Connection;

/// The replicas and their stores, closed by [`Group::stop`].
pub struct Group {
    pub engines: Vec<Engine>,
    /// The first replica's store (the API's).
    pub store: Arc<dyn Store>,
    sqlite: Option<SqliteStore>,
    postgres: Vec<PgStore>,
    /// The PostgreSQL server and the bench's database on it, dropped at the end.
    database: Option<(String, String)>,
    /// For the report: "SQLite" or "PostgreSQL × N".
    pub label: String,
}

/// `BULK_REPLICAS` (default 1).
fn replicas() -> usize {
    std::env::var("BULK_REPLICAS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(1)
}

impl Group {
    /// Starts the engines on `sites` and waits until every replica claims its share.
    pub async fn start(
        sqlite_url: &str,
        sites: &[deskbridge::config::SiteConfig],
        options: EngineOptions,
    ) -> Group {
        let n = replicas();
        let Ok(server) = std::env::var("BULK_DATABASE_URL") else {
            assert_eq!(
                n, 1,
                "BULK_REPLICAS > 1 needs BULK_DATABASE_URL (PostgreSQL)"
            );
            let sqlite = SqliteStore::open(sqlite_url).await.expect("store");
            let store: Arc<dyn Store> = Arc::new(sqlite.clone());
            let engine = Engine::start(Arc::clone(&store), sites, options).expect("engine");
            return Group {
                engines: vec![engine],
                store,
                sqlite: Some(sqlite),
                postgres: Vec::new(),
                database: None,
                label: "SQLite".to_owned(),
            };
        };
        let name = format!("deskbridge_bench_{}", std::process::id());
        let mut admin = sqlx::PgConnection::connect(&server)
            .await
            .expect("connect to BULK_DATABASE_URL");
        // The name is ours (a pid), never input.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create the bench database");
        let mut url = url::Url::parse(&server).expect("BULK_DATABASE_URL is a URL");
        url.set_path(&name);
        let mut postgres = Vec::new();
        let mut engines = Vec::new();
        for _ in 0..n {
            let pg = PgStore::open(url.as_str()).await.expect("PostgreSQL store");
            let store: Arc<dyn Store> = Arc::new(pg.clone());
            let options = EngineOptions {
                replicas: Some(ReplicaOptions::default()),
                ..options.clone()
            };
            engines.push(Engine::start(store, sites, options).expect("engine"));
            postgres.push(pg);
        }
        // A replica that joins claims nothing until the others have seen it.
        for engine in &engines {
            let group = engine.handle().group().clone();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            while !(group.may_claim() && group.alive() == n as u32) {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "replicas never joined"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Group {
            store: Arc::new(postgres[0].clone()),
            engines,
            sqlite: None,
            postgres,
            database: Some((server, name)),
            label: format!("PostgreSQL × {n}"),
        }
    }

    /// Wakes every replica's engine, as each would find new work at its next poll.
    pub fn wake(&self) {
        for engine in &self.engines {
            engine.handle().wake();
        }
    }

    pub async fn stop(self) {
        for engine in self.engines {
            engine.shutdown().await;
        }
        if let Some(sqlite) = self.sqlite {
            sqlite.close().await;
        }
        for pg in self.postgres {
            pg.close().await;
        }
        if let Some((server, name)) = self.database
            && let Ok(mut admin) = sqlx::PgConnection::connect(&server).await
        {
            let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            let _ = sqlx::query(sqlx::AssertSqlSafe(drop))
                .execute(&mut admin)
                .await;
        }
    }
}
