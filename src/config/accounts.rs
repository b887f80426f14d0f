//! Checks the `[password_policy]` and `[verification]` tables of account self-service.
//!
//! Both reuse the serde types of [`crate::accounts`] (so the config and the console read one
//! schema), fed one key at a time: each bad key is reported at its own line.

use super::check::Ctx;
use super::paths::expand_path;
use super::raw::{RawConfig, RawTable};
use super::types::AccountsConfig;
use crate::accounts::{PasswordPolicy, PolicyError, VerificationPolicy};
use serde::de::DeserializeOwned;
use toml::Spanned;

/// `[password_policy]` and `[verification]`, with defaults for absent tables.
pub(super) fn check_accounts(raw: &RawConfig, ctx: &mut Ctx<'_>) -> Option<AccountsConfig> {
    let policy = match &raw.password_policy {
        Some(table) => password_policy(table, ctx),
        None => Some(PasswordPolicy::default()),
    };
    let verification = match &raw.verification {
        Some(table) => verification(table, ctx),
        None => Some(VerificationPolicy::default()),
    };
    Some(AccountsConfig {
        policy: policy?,
        verification: verification?,
    })
}

fn password_policy(table: &Spanned<RawTable>, ctx: &mut Ctx<'_>) -> Option<PasswordPolicy> {
    const NAME: &str = "password_policy";
    let mut policy: PasswordPolicy = from_table(table, NAME, ctx)?;
    if let Err(PolicyError::Invalid(message)) = policy.validate() {
        // The message starts with the key it is about ("max_length (8) is less than…").
        let (at, key) = table
            .get_ref()
            .iter()
            .find(|(k, _)| message.starts_with(k.get_ref().as_str()))
            .map_or((table.span(), NAME.to_string()), |(k, v)| {
                (v.span(), format!("{NAME}.{}", k.get_ref()))
            });
        ctx.c.error(at, &key, message);
        return None;
    }
    let Some((_, value)) = table
        .get_ref()
        .iter()
        .find(|(k, _)| k.get_ref() == "deny_list")
    else {
        return Some(policy);
    };
    let key = format!("{NAME}.deny_list");
    let path = policy.deny_list.take()?;
    let path = expand_path(&path.to_string_lossy(), ctx.base_dir, ctx.env)
        .map_err(|e| ctx.c.error(value.span(), &key, e))
        .ok()?;
    policy.deny_list = Some(path.clone());
    match policy.load() {
        Ok(policy) => {
            if policy.denied.is_empty() {
                ctx.c.warn(
                    value.span(),
                    &key,
                    format!(
                        "the deny list {} holds no passwords (only blank and # lines), so it \
                         refuses nothing",
                        path.display()
                    ),
                );
            }
            Some(policy)
        }
        Err(e) => {
            ctx.c.error(
                value.span(),
                &key,
                format!("{e}; give a file with one password per line, relative to this file's folder or absolute"),
            );
            None
        }
    }
}

fn verification(table: &Spanned<RawTable>, ctx: &mut Ctx<'_>) -> Option<VerificationPolicy> {
    let policy: VerificationPolicy = from_table(table, "verification", ctx)?;
    if policy.max_attempts == 0 {
        let at = table
            .get_ref()
            .iter()
            .find(|(k, _)| k.get_ref() == "max_attempts")
            .map_or(table.span(), |(_, v)| v.span());
        ctx.c.error(
            at,
            "verification.max_attempts",
            "must be at least 1 (wrong codes allowed before the code locks; the default is 5)",
        );
        return None;
    }
    Some(policy)
}

/// Reads a table into `T` one key at a time, so that every bad key is reported at its own
/// place; then the whole table, for the defaults of the keys left out.
fn from_table<T: DeserializeOwned>(
    table: &Spanned<RawTable>,
    name: &str,
    ctx: &mut Ctx<'_>,
) -> Option<T> {
    let mut ok = true;
    for (key, value) in table.get_ref() {
        let mut one = toml::Table::new();
        one.insert(key.get_ref().clone(), value.get_ref().clone());
        if let Err(e) = T::deserialize(toml::Value::Table(one)) {
            let message = e.message().trim().to_string();
            let unknown = message.starts_with("unknown field");
            let (_, message) = super::explain(None, &message);
            let at = if unknown { key.span() } else { value.span() };
            ctx.c
                .error(at, &format!("{name}.{}", key.get_ref()), message);
            ok = false;
        }
    }
    if !ok {
        return None;
    }
    let whole: toml::Table = table
        .get_ref()
        .iter()
        .map(|(k, v)| (k.get_ref().clone(), v.get_ref().clone()))
        .collect();
    T::deserialize(toml::Value::Table(whole))
        .map_err(|e| {
            ctx.c
                .error(table.span(), name, e.message().trim().to_string())
        })
        .ok()
}
