//! `store` and `store_password`: a PostgreSQL store takes its password by reference only.

use super::{BASE, SECRETS, assert_error, at, errors, load};
use crate::config::StoreConfig;

#[test]
fn a_postgres_store_takes_its_password_from_the_reference() {
    let text = format!(
        "store = \"postgres://deskbridge@db.example:5432/deskbridge?sslmode=verify-full\"\n\
         store_password = {{ env = \"LONDON_PW\" }}\n{BASE}"
    );
    let c = load(&text).unwrap_or_else(|e| panic!("{e}")).config;
    match &c.store {
        StoreConfig::Postgres { url, password } => {
            assert_eq!(
                url,
                "postgres://deskbridge@db.example:5432/deskbridge?sslmode=verify-full"
            );
            assert_eq!(password.as_ref().map(|p| p.expose()), Some(SECRETS[0]));
        }
        other => panic!("{other:?}"),
    }
    // What logs and errors show of the store never holds the password.
    assert!(!c.store.url().contains(SECRETS[0]));
    assert!(!format!("{:?}", c.store).contains(SECRETS[0]));
}

#[test]
fn a_postgres_store_without_a_password_is_for_trust_or_certificate_auth() {
    let text = format!("store = \"postgresql://deskbridge@db.example/deskbridge\"\n{BASE}");
    let c = load(&text).unwrap_or_else(|e| panic!("{e}")).config;
    assert!(matches!(
        c.store,
        StoreConfig::Postgres { password: None, .. }
    ));
}

#[test]
fn a_password_inside_the_url_is_refused_without_echoing_it() {
    let text =
        format!("store = \"postgres://deskbridge:hunter2-db@db.example/deskbridge\"\n{BASE}");
    let shown = errors(&text);
    assert_error(
        &shown,
        &at(&text, "\"postgres://"),
        "store",
        "store_password",
    );
    assert!(!shown.contains("hunter2-db"), "{shown}");
}

#[test]
fn a_url_without_host_or_database_says_what_is_missing() {
    let text = format!("store = \"postgres://deskbridge@db.example\"\n{BASE}");
    assert_error(
        &errors(&text),
        &at(&text, "\"postgres://"),
        "store",
        "names no database",
    );
    let text = format!("store = \"postgres:///deskbridge\"\n{BASE}");
    assert_error(
        &errors(&text),
        &at(&text, "\"postgres://"),
        "store",
        "names no host",
    );
}

#[test]
fn a_store_password_beside_sqlite_is_an_error_not_ignored() {
    let text = format!("store_password = {{ env = \"LONDON_PW\" }}\n{BASE}");
    assert_error(
        &errors(&text),
        &at(&text, "{ env"),
        "store_password",
        "only for a postgres:// store",
    );
}

#[test]
fn an_inline_or_missing_store_password_is_an_error() {
    let text = format!(
        "store = \"postgres://deskbridge@db.example/deskbridge\"\nstore_password = \"hunter2-db\"\n{BASE}"
    );
    let shown = errors(&text);
    assert!(shown.contains("key store_password"), "{shown}");
    assert!(!shown.contains("hunter2-db"), "{shown}");
    let text = format!(
        "store = \"postgres://deskbridge@db.example/deskbridge\"\n\
         store_password = {{ env = \"NOT_SET\" }}\n{BASE}"
    );
    assert!(errors(&text).contains("NOT_SET"));
}
