//! Default locations: the data folder (XDG) and the store URL inside it.

use super::types::StoreConfig;
use std::path::{Path, PathBuf};

/// `$XDG_DATA_HOME/deskbridge`, else `$HOME/.local/share/deskbridge`.
pub(crate) fn default_data_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    xdg_dir(env, "XDG_DATA_HOME", ".local/share")
}

/// `$<xdg_var>/deskbridge`, else `$HOME/<home_default>/deskbridge` (the XDG base directory
/// rule, shared with the console's config and state paths). XDG says a relative value is
/// invalid and must be ignored.
pub(crate) fn xdg_dir(
    env: &dyn Fn(&str) -> Option<String>,
    xdg_var: &str,
    home_default: &str,
) -> Option<PathBuf> {
    if let Some(xdg) = env(xdg_var).filter(|v| Path::new(v).is_absolute()) {
        return Some(Path::new(&xdg).join("deskbridge"));
    }
    let home = env("HOME").filter(|v| !v.is_empty())?;
    Some(Path::new(&home).join(home_default).join("deskbridge"))
}

/// Expands a leading `~/` with `$HOME` and makes a relative path relative to `base`.
pub(crate) fn expand_path(
    text: &str,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<PathBuf, String> {
    let path = match text.strip_prefix("~/") {
        Some(rest) => {
            let home = env("HOME")
                .filter(|h| !h.is_empty())
                .ok_or("starts with `~/` but HOME is not set; write an absolute path")?;
            Path::new(&home).join(rest)
        }
        None => PathBuf::from(text),
    };
    Ok(if path.is_absolute() {
        path
    } else {
        base.join(path)
    })
}

/// Parses a store URL: `sqlite://PATH` (a relative PATH is inside `data_dir`),
/// `sqlite::memory:` or `postgres://USER@HOST[:PORT]/DB[?sslmode=…]` (its password comes from
/// `store_password`, filled in by the caller).
pub(super) fn parse_store(text: &str, data_dir: &Path) -> Result<StoreConfig, String> {
    if text == "sqlite::memory:" {
        return Ok(StoreConfig::SqliteMemory);
    }
    if let Some(path) = text.strip_prefix("sqlite://") {
        if path.is_empty() {
            return Err(
                "the SQLite URL has no path; write \"sqlite:///var/lib/deskbridge/deskbridge.db\" \
                 or leave `store` out for the default in the data folder"
                    .into(),
            );
        }
        return Ok(StoreConfig::Sqlite {
            path: data_dir.join(path),
        });
    }
    let scheme = text.split_once("://").map_or("", |(s, _)| s);
    if matches!(scheme, "postgres" | "postgresql") {
        return parse_postgres(text);
    }
    Err(
        "unsupported store URL; write \"sqlite://PATH\" (PATH absolute, or relative to \
         data_dir) or \"postgres://USER@HOST/DATABASE\""
            .into(),
    )
}

/// Checks a PostgreSQL URL. The URL is never echoed back: it may carry a password.
fn parse_postgres(text: &str) -> Result<StoreConfig, String> {
    let url = url::Url::parse(text).map_err(|e| format!("the PostgreSQL URL is malformed: {e}"))?;
    if url.password().is_some() {
        return Err(
            "the PostgreSQL URL holds a password; take it out and give it as \
             `store_password = { env = \"VAR\" }` or `{ file = \"PATH\" }`"
                .into(),
        );
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the PostgreSQL URL names no host; write postgres://USER@HOST/DATABASE".into());
    }
    if url.path().trim_start_matches('/').is_empty() {
        return Err(
            "the PostgreSQL URL names no database; write postgres://USER@HOST/DATABASE".into(),
        );
    }
    Ok(StoreConfig::Postgres {
        url: text.to_owned(),
        password: None,
    })
}

/// The default store: `sqlite://<data dir>/deskbridge.db`.
pub(super) fn default_store(data_dir: &Path) -> StoreConfig {
    StoreConfig::Sqlite {
        path: data_dir.join("deskbridge.db"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_dir_prefers_an_absolute_xdg_data_home() {
        let env = |k: &str| match k {
            "XDG_DATA_HOME" => Some("/xdg".to_string()),
            "HOME" => Some("/home/op".to_string()),
            _ => None,
        };
        assert_eq!(
            default_data_dir(&env),
            Some(PathBuf::from("/xdg/deskbridge"))
        );
        let relative = |k: &str| match k {
            "XDG_DATA_HOME" => Some("xdg".to_string()),
            "HOME" => Some("/home/op".to_string()),
            _ => None,
        };
        assert_eq!(
            default_data_dir(&relative),
            Some(PathBuf::from("/home/op/.local/share/deskbridge"))
        );
        assert_eq!(default_data_dir(&|_: &str| None), None);
    }

    #[test]
    fn store_urls() {
        let data = Path::new("/data");
        assert_eq!(
            parse_store("sqlite:///var/db/x.db", data),
            Ok(StoreConfig::Sqlite {
                path: "/var/db/x.db".into()
            })
        );
        assert_eq!(
            parse_store("sqlite://x.db", data),
            Ok(StoreConfig::Sqlite {
                path: "/data/x.db".into()
            })
        );
        let err = parse_store("postgres://u:hunter2@db/x", data).unwrap_err();
        assert!(err.contains("store_password"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        assert!(parse_store("mysql://x", data).is_err());
        let memory = parse_store("sqlite::memory:", data);
        assert_eq!(memory, Ok(StoreConfig::SqliteMemory));
        assert_eq!(
            parse_store("sqlite://x.db", data).map(|s| s.url()),
            Ok("sqlite:///data/x.db".to_string())
        );
    }
}
