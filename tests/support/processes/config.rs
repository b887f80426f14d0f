//! adapter.toml as an operator writes it for the lab's sites: secrets by reference (an
//! environment variable, or a 0600 file), a SQLite or PostgreSQL store, limits and lease.

use std::path::{Path, PathBuf};

use deskbridge::lab::{LabInfo, SiteCredentials};
use deskbridge::model::SiteKind;

use super::{CLIENT_ID, CLIENT_SECRET};

const CLIENT_SECRET_VAR: &str = "DESKBRIDGE_TEST_HELPDESK_SECRET";
/// The variable the PostgreSQL password travels in.
const STORE_PASSWORD_VAR: &str = "DESKBRIDGE_TEST_STORE_PASSWORD";

/// Where a written config keeps its state.
#[derive(Debug, Clone)]
pub enum StoreSpec {
    /// `sqlite://NAME` inside the data folder.
    Sqlite(String),
    /// A PostgreSQL URL without password, and the password (given by env var).
    Postgres { url: String, password: String },
}

/// What [`write_config`] varies.
#[derive(Debug, Clone)]
pub struct ConfigOptions {
    pub store: StoreSpec,
    /// Per-site `concurrency`.
    pub concurrency: u32,
    /// Per-site `rate_limit` (calls a second), if any.
    pub rate_limit: Option<u32>,
    /// `[engine] lease`.
    pub lease: String,
    /// `enabled` of every site: a replica with its sites off serves the API but acts on none.
    pub sites_enabled: bool,
}

/// A TOML basic string (JSON's escapes are TOML's).
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

/// Writes `dir/adapter.toml` for the lab's sites as an operator would: secrets as references
/// (an environment variable for on-prem passwords and the store's password, a 0600 file for
/// cloud client secrets), a free loopback port and the given store, limits and lease. Returns
/// the config path and the environment the adapter needs.
pub fn write_config(
    dir: &Path,
    lab: &LabInfo,
    options: &ConfigOptions,
) -> (PathBuf, Vec<(String, String)>) {
    std::fs::create_dir_all(dir.join("secrets")).expect("create the config folder");
    let mut env = vec![(CLIENT_SECRET_VAR.to_owned(), CLIENT_SECRET.to_owned())];
    let mut text = String::from("listen = \"127.0.0.1:0\"\ndata_dir = \"data\"\n");
    match &options.store {
        StoreSpec::Sqlite(name) => {
            text.push_str(&format!(
                "store = {}\n",
                quoted(&format!("sqlite://{name}"))
            ));
        }
        StoreSpec::Postgres { url, password } => {
            env.push((STORE_PASSWORD_VAR.to_owned(), password.clone()));
            text.push_str(&format!(
                "store = {}\nstore_password = {{ env = \"{STORE_PASSWORD_VAR}\" }}\n",
                quoted(url)
            ));
        }
    }
    text.push_str(&format!("\n[engine]\nlease = {}\n", quoted(&options.lease)));
    for (i, site) in lab.sites.iter().enumerate() {
        let endpoints: Vec<String> = site.endpoints.iter().map(|e| quoted(e)).collect();
        text.push_str(&format!(
            "\n[[sites]]\nname = {}\nkind = \"{}\"\nendpoints = [{}]\ncustomer_id = {}\n\
             site_id = {}\nenabled = {}\nconcurrency = {}\n",
            quoted(&site.name),
            match site.kind {
                SiteKind::Onprem => "onprem",
                SiteKind::Cloud => "cloud",
            },
            endpoints.join(", "),
            quoted(&site.customer_id),
            quoted(&site.site_id),
            options.sites_enabled,
            options.concurrency,
        ));
        if let Some(rate) = options.rate_limit {
            text.push_str(&format!("rate_limit = {rate}\n"));
        }
        match &site.credentials {
            SiteCredentials::Basic { username, password } => {
                let var = format!("DESKBRIDGE_TEST_SITE_{i}_PASSWORD");
                env.push((var.clone(), password.clone()));
                text.push_str(&format!(
                    "\n[sites.credentials]\nusername = {}\npassword = {{ env = \"{var}\" }}\n",
                    quoted(username)
                ));
            }
            SiteCredentials::Client {
                client_id,
                client_secret,
            } => {
                let file = format!("secrets/site-{i}-client-secret");
                write_secret(&dir.join(&file), client_secret);
                text.push_str(&format!(
                    "token_url = {}\n\n[sites.credentials]\nclient_id = {}\n\
                     client_secret = {{ file = \"{file}\" }}\n",
                    quoted(&site.token_url),
                    quoted(client_id)
                ));
            }
        }
    }
    text.push_str(&format!(
        "\n[[clients]]\nname = \"helpdesk\"\nid = \"{CLIENT_ID}\"\nrole = \"helpdesk\"\n\
         secret = {{ env = \"{CLIENT_SECRET_VAR}\" }}\n"
    ));
    let path = dir.join("adapter.toml");
    std::fs::write(&path, text).expect("write adapter.toml");
    (path, env)
}

fn write_secret(path: &Path, secret: &str) {
    std::fs::write(path, format!("{secret}\n")).expect("write secret file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .expect("chmod secret file");
    }
}
