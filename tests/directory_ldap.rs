//! The LDAP directory backend against a real Samba AD DC (started by scripts/test): every
//! change is proven by what the DC then does, mostly by binding as the user (AD's bind
//! sub-codes 773, 775, 533 tell must-change, locked and disabled apart).

#[path = "support/samba.rs"]
mod samba;

use std::path::Path;

use deskbridge::directory::ldap::{BindRefusal, CheckPasswordError, LdapConfig, LdapDirectory};
use deskbridge::directory::{Account, Directory, DirectoryError, ResetOptions};
use deskbridge::secret::Secret;
use samba::{Capture, SambaDc, Scratch, create_group, other_ca};

fn directory(config: LdapConfig) -> LdapDirectory {
    LdapDirectory::new(config).expect("a valid LDAP configuration")
}

/// A fresh account on the DC, and the directory that made it.
async fn fresh_account(dc: &SambaDc, tag: &str) -> (LdapDirectory, Account, Secret) {
    let dir = directory(dc.config());
    let new = dc.new_account(tag);
    let account = dir.create(&new).await.expect("create a test account");
    (dir, account, new.password)
}

fn refused(result: Result<(), CheckPasswordError>) -> BindRefusal {
    match result {
        Err(CheckPasswordError::Refused(why)) => why,
        other => panic!("expected the DC to refuse the bind, got {other:?}"),
    }
}

#[tokio::test]
async fn a_new_account_is_found_by_every_name() {
    let Some(dc) = samba::dc() else { return };
    let dir = directory(dc.config());
    let new = dc.new_account("find");
    let created = dir.create(&new).await.expect("create");
    assert_eq!(created.sam_name, new.sam_name);
    assert_eq!(created.upn, new.upn);
    assert_eq!(created.mail, new.mail);
    assert_eq!(created.display_name, new.display_name);
    assert_eq!(created.domain, "LAB");
    assert!(
        created
            .dn
            .starts_with(&format!("CN={},CN=Users,", new.display_name)),
        "{}",
        created.dn
    );
    assert!(!created.locked && !created.disabled && !created.must_change);
    // The domain's default policy has a maximum password age, so the password expires.
    let expires = created.password_expires.expect("an expiry date");
    assert!(expires > chrono::Utc::now(), "{expires}");

    let upper = new.display_name.to_uppercase();
    for text in [
        new.sam_name.as_str(),
        new.upn.as_str(),
        new.mail.as_str(),
        // A middle part of the display name, in another case.
        &upper[3..upper.len() - 2],
    ] {
        let found = dir.find(text, 10).await.expect("find");
        assert_eq!(
            found
                .iter()
                .map(|a| a.sam_name.as_str())
                .collect::<Vec<_>>(),
            vec![new.sam_name.as_str()],
            "searching for {text:?}"
        );
        assert_eq!(found[0], created);
    }
    for name in [
        new.sam_name.clone(),
        format!("LAB\\{}", new.sam_name),
        format!("lab\\{}", new.sam_name.to_uppercase()),
        new.upn.clone(),
    ] {
        assert_eq!(
            dir.account(&name).await.expect("account"),
            created,
            "{name}"
        );
    }
    assert!(
        dir.find("no-such-text-anywhere", 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(dir.find(&new.sam_name, 0).await.unwrap().is_empty());
}

#[tokio::test]
async fn find_returns_the_first_accounts_by_name_up_to_the_limit() {
    let Some(dc) = samba::dc() else { return };
    let dir = directory(dc.config());
    let prefix = samba::unique_name("ord");
    let prefix = &prefix[..prefix.len().min(16)];
    for suffix in ["c", "a", "d", "b"] {
        let mut new = dc.new_account("x");
        new.sam_name = format!("{prefix}{suffix}");
        new.upn = format!("{}@{}", new.sam_name, dc.dns_domain());
        new.display_name = format!("Order {}", new.sam_name);
        new.mail = String::new();
        dir.create(&new).await.expect("create");
    }
    let found = dir.find(prefix, 2).await.expect("find");
    let names: Vec<_> = found.iter().map(|a| a.sam_name.clone()).collect();
    assert_eq!(names, vec![format!("{prefix}a"), format!("{prefix}b")]);
    let all = dir.find(prefix, 10).await.expect("find");
    assert_eq!(all.len(), 4);
    assert!(all.iter().all(|a| a.mail.is_empty()));
}

#[tokio::test]
async fn a_reset_password_is_the_one_that_logs_on() {
    let Some(dc) = samba::dc() else { return };
    let (dir, account, first) = fresh_account(&dc, "reset").await;
    dir.check_password(&account.sam_name, &first)
        .await
        .expect("the first password logs on");

    let second = Secret::new("Second#Pass-42");
    dir.reset_password(&account.upn, &second, ResetOptions::default())
        .await
        .expect("reset");
    dir.check_password(&account.sam_name, &second)
        .await
        .expect("the new password logs on");
    assert_eq!(
        refused(dir.check_password(&account.sam_name, &first).await),
        BindRefusal::BadPassword
    );
    assert_eq!(
        refused(
            dir.check_password(&account.sam_name, &Secret::new(""))
                .await
        ),
        BindRefusal::EmptyPassword
    );
    let after = dir.account(&account.sam_name).await.expect("account");
    assert!(!after.must_change && !after.locked);
}

#[tokio::test]
async fn must_change_makes_the_next_logon_ask_for_a_new_password() {
    let Some(dc) = samba::dc() else { return };
    let (dir, account, _) = fresh_account(&dc, "mustc").await;
    let password = Secret::new("Change#Me-2026");
    dir.reset_password(
        &account.qualified_name(),
        &password,
        ResetOptions {
            must_change: true,
            unlock: false,
        },
    )
    .await
    .expect("reset with must-change");
    assert!(dir.account(&account.sam_name).await.unwrap().must_change);
    assert_eq!(
        refused(dir.check_password(&account.sam_name, &password).await),
        BindRefusal::MustChangePassword
    );

    // A reset without must-change stamps a fresh pwdLastSet: the user logs on again.
    dir.reset_password(&account.sam_name, &password, ResetOptions::default())
        .await
        .expect("reset");
    assert!(!dir.account(&account.sam_name).await.unwrap().must_change);
    dir.check_password(&account.sam_name, &password)
        .await
        .expect("logs on");
}

#[tokio::test]
async fn a_new_account_can_be_created_with_must_change() {
    let Some(dc) = samba::dc() else { return };
    let dir = directory(dc.config());
    let mut new = dc.new_account("newmc");
    new.must_change = true;
    let created = dir.create(&new).await.expect("create");
    assert!(created.must_change);
    assert_eq!(
        refused(dir.check_password(&new.sam_name, &new.password).await),
        BindRefusal::MustChangePassword
    );
}

/// Wrong passwords until the DC locks the account (the test policy's threshold is 3).
async fn lock_out(dir: &LdapDirectory, sam: &str) {
    let wrong = Secret::new("Wrong#Pass-000");
    for attempt in 1..=6 {
        match refused(dir.check_password(sam, &wrong).await) {
            BindRefusal::BadPassword => continue,
            BindRefusal::AccountLocked => {
                assert!(attempt > 3, "locked after {attempt} attempts");
                return;
            }
            other => panic!("unexpected refusal {other:?}"),
        }
    }
    panic!("the DC never locked {sam} out");
}

#[tokio::test]
async fn unlock_lets_a_locked_out_user_log_on_again() {
    let Some(dc) = samba::dc() else { return };
    let (dir, account, password) = fresh_account(&dc, "lock").await;
    lock_out(&dir, &account.sam_name).await;
    assert!(dir.account(&account.sam_name).await.unwrap().locked);
    // The right password does not help while locked.
    assert_eq!(
        refused(dir.check_password(&account.sam_name, &password).await),
        BindRefusal::AccountLocked
    );

    dir.unlock(&account.sam_name).await.expect("unlock");
    assert!(!dir.account(&account.sam_name).await.unwrap().locked);
    dir.check_password(&account.sam_name, &password)
        .await
        .expect("logs on after the unlock");
    // Unlocking an account that is not locked is harmless.
    dir.unlock(&account.sam_name).await.expect("unlock again");
}

#[tokio::test]
async fn a_reset_with_unlock_clears_the_lockout_in_the_same_change() {
    let Some(dc) = samba::dc() else { return };
    let (dir, account, _) = fresh_account(&dc, "rsunl").await;
    lock_out(&dir, &account.sam_name).await;
    let password = Secret::new("Unlocked#Pass-7");
    dir.reset_password(
        &account.sam_name,
        &password,
        ResetOptions {
            must_change: false,
            unlock: true,
        },
    )
    .await
    .expect("reset and unlock");
    dir.check_password(&account.sam_name, &password)
        .await
        .expect("logs on");
}

#[tokio::test]
async fn disable_and_enable() {
    let Some(dc) = samba::dc() else { return };
    let (dir, account, password) = fresh_account(&dc, "dis").await;
    dir.set_enabled(&account.sam_name, false)
        .await
        .expect("disable");
    assert!(dir.account(&account.sam_name).await.unwrap().disabled);
    assert_eq!(
        refused(dir.check_password(&account.sam_name, &password).await),
        BindRefusal::AccountDisabled
    );
    dir.set_enabled(&account.sam_name, false)
        .await
        .expect("disabling twice is fine");

    dir.set_enabled(&account.upn, true).await.expect("enable");
    let after = dir.account(&account.sam_name).await.unwrap();
    assert!(!after.disabled);
    dir.check_password(&account.sam_name, &password)
        .await
        .expect("logs on once enabled");
}

#[tokio::test]
async fn group_membership_is_idempotent_both_ways() {
    let Some(dc) = samba::dc() else { return };
    let (dir, account, _) = fresh_account(&dc, "grp").await;
    let group = samba::unique_name("g");
    let group_dn = create_group(&dc, &group).await;

    dir.add_to_group(&account.sam_name, &group)
        .await
        .expect("add");
    assert_eq!(
        dir.account(&account.sam_name).await.unwrap().groups,
        vec![group.clone()]
    );
    dir.add_to_group(&account.upn, &group_dn)
        .await
        .expect("adding again (by DN) is success");
    assert_eq!(
        dir.account(&account.sam_name).await.unwrap().groups,
        vec![group.clone()]
    );

    dir.remove_from_group(&account.sam_name, &group)
        .await
        .expect("remove");
    assert!(
        dir.account(&account.sam_name)
            .await
            .unwrap()
            .groups
            .is_empty()
    );
    dir.remove_from_group(&account.sam_name, &group)
        .await
        .expect("removing a non-member is success");

    let missing = dir
        .add_to_group(&account.sam_name, "no-such-group-anywhere")
        .await
        .unwrap_err();
    assert!(
        matches!(&missing, DirectoryError::NotFound(t) if t.contains("no-such-group-anywhere")),
        "{missing:?}"
    );
}

#[tokio::test]
async fn a_weak_password_is_refused_in_words_without_the_password() {
    let Some(dc) = samba::dc() else { return };
    let (dir, account, password) = fresh_account(&dc, "weak").await;
    let weak = "Qz9";
    let err = dir
        .reset_password(
            &account.sam_name,
            &Secret::new(weak),
            ResetOptions::default(),
        )
        .await
        .unwrap_err();
    let DirectoryError::PasswordRefused(text) = &err else {
        panic!("expected PasswordRefused, got {err:?}");
    };
    assert!(
        text.contains("complexity, length or history rules"),
        "{text}"
    );
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.contains(weak), "the password leaked: {shown}");
    }
    // Nothing changed: the old password still logs on.
    dir.check_password(&account.sam_name, &password)
        .await
        .expect("old password");

    let mut new = dc.new_account("weakn");
    new.password = Secret::new(weak);
    let err = dir.create(&new).await.unwrap_err();
    assert!(
        matches!(&err, DirectoryError::PasswordRefused(_)),
        "{err:?}"
    );
    assert!(!err.to_string().contains(weak));
    assert!(matches!(
        dir.account(&new.sam_name).await,
        Err(DirectoryError::NotFound(_))
    ));
}

#[tokio::test]
async fn plain_ldap_without_starttls_is_refused_before_connecting() {
    // No DC needed: the refusal comes from our side. The address is unroutable (TEST-NET-1),
    // so any attempt to connect would hang rather than fail fast.
    let mut config = LdapConfig::new(
        "ldap://192.0.2.1:389",
        "svc@lab.example",
        Secret::new("svc-password"),
        "DC=lab,DC=example",
        "LAB",
    );
    let err = LdapDirectory::new(config.clone()).unwrap_err();
    let DirectoryError::Config(text) = &err else {
        panic!("expected a Config error, got {err:?}");
    };
    assert!(text.contains("without TLS"), "{text}");
    assert!(
        text.contains("ldaps://") && text.contains("starttls"),
        "{text}"
    );
    assert!(!text.contains("svc-password"));
    config.starttls = true;
    config.tls_verify = false;
    assert!(LdapDirectory::new(config).is_ok());
}

#[tokio::test]
async fn an_unreachable_directory_is_a_retryable_error() {
    // No DC needed. A closed port fails at once; an unroutable address (TEST-NET-1) runs into
    // the connect timeout.
    for (url, timeout) in [
        ("ldaps://127.0.0.1:1", std::time::Duration::from_secs(5)),
        (
            "ldaps://192.0.2.1:636",
            std::time::Duration::from_millis(300),
        ),
    ] {
        let mut config = LdapConfig::new(
            url,
            "svc@lab.example",
            Secret::new("svc-password"),
            "DC=lab,DC=example",
            "LAB",
        );
        config.tls_verify = false;
        config.connect_timeout = timeout;
        let started = std::time::Instant::now();
        let err = directory(config).account("anyone").await.unwrap_err();
        assert!(
            matches!(err, DirectoryError::Unreachable(_)) && err.is_retryable(),
            "{url}: {err:?}"
        );
        assert!(started.elapsed() < timeout + std::time::Duration::from_secs(2));
        assert!(!err.to_string().contains("svc-password"));
    }
}

#[tokio::test]
async fn starttls_on_plain_ldap_works() {
    let Some(dc) = samba::dc() else { return };
    let mut config = dc.config();
    config.url = dc.starttls_url.clone();
    config.starttls = true;
    let dir = directory(config);
    let (_, account, password) = fresh_account(&dc, "stls").await;
    assert_eq!(dir.account(&account.sam_name).await.unwrap(), account);
    dir.check_password(&account.sam_name, &password)
        .await
        .expect("user bind over StartTLS");
}

#[tokio::test]
async fn the_certificate_is_verified_against_the_pinned_ca() {
    let Some(dc) = samba::dc() else { return };
    // The right CA: LDAPS and StartTLS both verify.
    let dir = directory(dc.config());
    dir.account("Administrator").await.expect("verified LDAPS");

    // Another CA: the handshake fails, as a TLS error that is not retried.
    let scratch = Scratch::new("ca");
    for (url, starttls) in [(&dc.url, false), (&dc.starttls_url, true)] {
        let mut config = dc.config();
        config.url = url.clone();
        config.starttls = starttls;
        config.ca_file = Some(other_ca(&scratch));
        let err = directory(config)
            .account("Administrator")
            .await
            .unwrap_err();
        let DirectoryError::Tls(text) = &err else {
            panic!("expected a TLS error for {url}, got {err:?}");
        };
        assert!(text.contains("not signed by a trusted CA"), "{text}");
        assert!(!err.is_retryable());
    }

    // Our test CA is in no system store.
    let mut config = dc.config();
    config.ca_file = None;
    let err = match LdapDirectory::new(config) {
        Ok(dir) => dir.account("Administrator").await.unwrap_err(),
        Err(err) => err,
    };
    assert!(
        matches!(err, DirectoryError::Tls(_) | DirectoryError::Config(_)),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_bad_ca_file_is_a_clear_configuration_error() {
    let Some(dc) = samba::dc() else { return };
    let scratch = Scratch::new("badca");
    let missing = scratch.0.join("missing.pem");
    let empty = scratch.0.join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    for path in [missing, empty] {
        let mut config = dc.config();
        config.ca_file = Some(path.clone());
        let err = LdapDirectory::new(config).unwrap_err();
        let DirectoryError::Config(text) = &err else {
            panic!("expected Config, got {err:?}");
        };
        assert!(text.contains(&path.display().to_string()), "{text}");
    }
    assert!(Path::new(&dc.ca).exists());
}

#[tokio::test]
async fn tls_verify_off_accepts_the_certificate() {
    let Some(dc) = samba::dc() else { return };
    let mut config = dc.config();
    config.ca_file = None;
    config.tls_verify = false;
    let log = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(log.clone())
        .with_ansi(false)
        .finish();
    let dir = tracing::subscriber::with_default(subscriber, || directory(config));
    let logged = log.text();
    assert!(
        logged.contains("WARN") && logged.contains("verification is OFF"),
        "turning verification off must be logged: {logged:?}"
    );
    assert!(!logged.contains(&dc.password));
    let admin = dir.account("LAB\\Administrator").await.expect("account");
    assert_eq!(admin.sam_name, "Administrator");
}

#[tokio::test]
async fn unknown_users_are_not_found() {
    let Some(dc) = samba::dc() else { return };
    let dir = directory(dc.config());
    let ghost = samba::unique_name("ghost");
    let is_not_found =
        |r: Result<(), DirectoryError>| matches!(r, Err(DirectoryError::NotFound(_)));
    assert!(matches!(
        dir.account(&ghost).await,
        Err(DirectoryError::NotFound(_))
    ));
    assert!(matches!(
        dir.account(&format!("OTHER\\{ghost}")).await,
        Err(DirectoryError::NotFound(_))
    ));
    assert!(is_not_found(
        dir.reset_password(&ghost, &Secret::new("Whatever#1"), ResetOptions::default())
            .await
    ));
    assert!(is_not_found(dir.unlock(&ghost).await));
    assert!(is_not_found(dir.set_enabled(&ghost, true).await));
    assert!(is_not_found(dir.add_to_group(&ghost, "Domain Users").await));
    assert!(matches!(
        dir.check_password(&ghost, &Secret::new("Whatever#1")).await,
        Err(CheckPasswordError::Directory(DirectoryError::NotFound(_)))
    ));
}

#[tokio::test]
async fn a_wrong_service_password_is_a_configuration_error() {
    let Some(dc) = samba::dc() else { return };
    // A throwaway account as the "service account", so wrong binds lock out nobody that matters.
    let (_, account, _) = fresh_account(&dc, "svc").await;
    let mut config = dc.config();
    config.bind_user = account.upn.clone();
    config.bind_password = Secret::new("Not#The-Admin-Password");
    let err = directory(config)
        .account("Administrator")
        .await
        .unwrap_err();
    let DirectoryError::Config(text) = &err else {
        panic!("expected Config, got {err:?}");
    };
    assert!(text.contains("service account"), "{text}");
    assert!(!text.contains("Not#The-Admin-Password"));
}

#[tokio::test]
async fn the_whole_directory_is_listed_in_pages_without_gaps_or_repeats() {
    let Some(dc) = samba::dc() else { return };
    let dir = directory(dc.config());
    let mut created = Vec::new();
    for tag in ["pga", "pgb", "pgc"] {
        let new = dc.new_account(tag);
        created.push(dir.create(&new).await.expect("create").sam_name);
    }
    dir.set_enabled(&created[1], false).await.expect("disable");

    // Other tests create accounts in the same DC meanwhile: every account there before the
    // pages is in them, and every account in them is there after.
    let before = dir.find("", 100_000).await.expect("find everything");
    // Small pages, so that even a fresh DC takes several.
    let mut listed: Vec<Account> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let (page, next) = dir
            .accounts_page(cursor.as_deref(), 3)
            .await
            .expect("a page of accounts");
        assert!(page.len() <= 3, "{} accounts in a page of 3", page.len());
        pages += 1;
        listed.extend(page);
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
        assert!(pages < 10_000, "the pages never end");
    }
    assert!(pages > 1, "one page for the whole directory");
    let names: Vec<String> = listed.iter().map(|a| a.sam_name.to_lowercase()).collect();
    assert!(
        names.windows(2).all(|w| w[0] < w[1]),
        "pages out of order or repeated: {names:?}"
    );
    for sam in &created {
        let found = listed
            .iter()
            .find(|a| a.sam_name.eq_ignore_ascii_case(sam))
            .unwrap_or_else(|| panic!("{sam} missing from the pages"));
        assert_eq!(found.disabled, *sam == created[1], "{found:?}");
        assert_eq!(found.domain, "LAB");
    }
    let after = dir.find("", 100_000).await.expect("find everything");
    let named = |list: &[Account]| -> std::collections::BTreeSet<String> {
        list.iter().map(|a| a.sam_name.to_lowercase()).collect()
    };
    let (before, paged, after) = (named(&before), named(&listed), named(&after));
    assert!(
        before.is_subset(&paged),
        "missing from the pages: {:?}",
        before.difference(&paged).collect::<Vec<_>>()
    );
    assert!(
        paged.is_subset(&after),
        "not in the directory: {:?}",
        paged.difference(&after).collect::<Vec<_>>()
    );
}
