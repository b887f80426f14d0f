//! The `cvad-identity` directory backend against the lab over real HTTP: lookups, password
//! resets proven by a logon, lockout and unlock, enable/disable, groups, refusals, and that no
//! password ever comes back in an answer of the Identity routes.

use deskbridge::cvad::{CvadClient, CvadConfig};
use deskbridge::directory::cvad_identity::CvadIdentityDirectory;
use deskbridge::directory::{Account, Directory, DirectoryError, NewAccount, ResetOptions};
use deskbridge::lab::{Lab, LabOptions, SiteCredentials, SiteInfo};
use deskbridge::secret::Secret;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct Fixture {
    lab: Lab,
    dir: CvadIdentityDirectory,
    http: reqwest::Client,
}

impl Fixture {
    async fn start() -> Fixture {
        let lab = Lab::start(LabOptions::default()).await.expect("lab");
        let dir = directory(&lab.info().sites[0]);
        Fixture {
            lab,
            dir,
            http: reqwest::Client::new(),
        }
    }

    /// `POST /_lab/directory/users/{user}/{what}`.
    async fn control(&self, user: &str, what: &str, body: Value) -> (StatusCode, Value) {
        let url = format!("{}/directory/users/{user}/{what}", self.lab.info().control);
        let response = self.http.post(url).json(&body).send().await.expect("send");
        let status = response.status();
        (status, response.json().await.expect("json"))
    }

    /// The lab's logon check: what a user typing `password` would get.
    async fn logon(&self, user: &str, password: &str) -> String {
        let (status, body) = self
            .control(user, "logon", json!({ "password": password }))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["result"].as_str().expect("result").to_string()
    }

    /// An ordinary account in good standing, not used by another part of the same test.
    async fn healthy(&self, skip: usize) -> Account {
        let all = self.dir.find("", 1000).await.expect("list");
        all.into_iter()
            .filter(|a| {
                !a.locked
                    && !a.disabled
                    && !a.must_change
                    && !a.mail.is_empty()
                    && !a.groups.iter().any(|g| g == "Domain Admins")
            })
            .nth(skip)
            .expect("a healthy account")
    }
}

fn directory(site: &SiteInfo) -> CvadIdentityDirectory {
    let client = CvadClient::new(CvadConfig::from_lab(site)).expect("client");
    CvadIdentityDirectory::new(client, "LAB")
}

fn reset(must_change: bool) -> ResetOptions {
    ResetOptions {
        must_change,
        unlock: false,
    }
}

#[tokio::test]
async fn accounts_are_found_by_name_upn_mail_and_display_name() {
    let f = Fixture::start().await;
    let a = f.healthy(0).await;
    assert_eq!(a.domain, "LAB");
    assert!(a.dn.starts_with("CN="), "{}", a.dn);
    assert!(
        !a.groups.is_empty(),
        "people belong to their department's group"
    );
    for text in [
        a.sam_name.to_uppercase(),
        a.upn.clone(),
        a.mail.clone(),
        a.display_name.to_lowercase(),
    ] {
        let found = f.dir.find(&text, 50).await.expect("find");
        assert!(found.iter().any(|x| x == &a), "{text} finds {}", a.sam_name);
    }
    for name in [a.sam_name.clone(), a.qualified_name(), a.upn.clone()] {
        assert_eq!(f.dir.account(&name).await.expect("account"), a, "{name}");
    }
    let few = f.dir.find("a", 7).await.expect("find");
    assert_eq!(few.len(), 7);
    assert!(few.windows(2).all(|w| w[0].sam_name <= w[1].sam_name));
    f.lab.shutdown().await;
}

#[tokio::test]
async fn the_seeded_directory_shows_every_state_the_console_needs() {
    let f = Fixture::start().await;
    let all = f.dir.find("", 1000).await.expect("list");
    assert!(all.len() > 300, "{}", all.len());
    assert!(all.iter().any(|a| a.locked));
    assert!(all.iter().any(|a| a.disabled));
    assert!(all.iter().any(|a| a.must_change));
    let week = chrono::Utc::now() + chrono::Duration::days(8);
    assert!(
        all.iter()
            .any(|a| !a.must_change && a.password_expires.is_some_and(|e| e < week))
    );
    f.lab.shutdown().await;
}

#[tokio::test]
async fn a_reset_is_proven_by_a_logon_and_the_old_password_stops_working() {
    let f = Fixture::start().await;
    let a = f.healthy(0).await;
    let user = a.qualified_name();
    let old = Secret::new("Old#Pass-2027");
    let new = Secret::new("New#Pass-2027");
    f.dir
        .reset_password(&user, &old, reset(false))
        .await
        .expect("reset");
    assert_eq!(f.logon(&a.sam_name, old.expose()).await, "accepted");
    f.dir
        .reset_password(&user, &new, reset(false))
        .await
        .expect("reset");
    assert_eq!(f.logon(&a.sam_name, new.expose()).await, "accepted");
    assert_eq!(f.logon(&a.sam_name, old.expose()).await, "bad_password");
    assert!(!f.dir.account(&user).await.expect("account").must_change);

    // Must change at next logon: the account shows it, and the logon asks for a new password.
    let temp = Secret::new("Temp#Pass-2027");
    f.dir
        .reset_password(&a.upn, &temp, reset(true))
        .await
        .expect("reset");
    assert!(f.dir.account(&user).await.expect("account").must_change);
    assert_eq!(f.logon(&a.sam_name, temp.expose()).await, "must_change");
    f.lab.shutdown().await;
}

#[tokio::test]
async fn bad_logons_lock_the_account_and_unlock_clears_it() {
    let f = Fixture::start().await;
    let a = f.healthy(1).await;
    let known = Secret::new("Known#Pass-2027");
    f.dir
        .reset_password(&a.sam_name, &known, reset(false))
        .await
        .expect("reset");
    let (status, body) = f.control(&a.sam_name, "bad-logons", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["locked"], true, "{body}");
    assert!(f.dir.account(&a.sam_name).await.expect("account").locked);
    assert_eq!(f.logon(&a.sam_name, known.expose()).await, "locked");

    f.dir.unlock(&a.sam_name).await.expect("unlock");
    assert!(!f.dir.account(&a.sam_name).await.expect("account").locked);
    assert_eq!(f.logon(&a.sam_name, known.expose()).await, "accepted");

    // A reset can unlock in the same change.
    f.control(&a.sam_name, "bad-logons", json!({ "count": 10 }))
        .await;
    let options = ResetOptions {
        must_change: false,
        unlock: true,
    };
    f.dir
        .reset_password(&a.sam_name, &known, options)
        .await
        .expect("reset");
    assert_eq!(f.logon(&a.sam_name, known.expose()).await, "accepted");
    f.lab.shutdown().await;
}

#[tokio::test]
async fn disable_and_enable() {
    let f = Fixture::start().await;
    let a = f.healthy(2).await;
    let known = Secret::new("Known#Pass-2027");
    f.dir
        .reset_password(&a.sam_name, &known, reset(false))
        .await
        .expect("reset");
    f.dir
        .set_enabled(&a.sam_name, false)
        .await
        .expect("disable");
    assert!(f.dir.account(&a.sam_name).await.expect("account").disabled);
    assert_eq!(f.logon(&a.sam_name, known.expose()).await, "disabled");
    f.dir.set_enabled(&a.sam_name, true).await.expect("enable");
    assert!(!f.dir.account(&a.sam_name).await.expect("account").disabled);
    assert_eq!(f.logon(&a.sam_name, known.expose()).await, "accepted");
    f.lab.shutdown().await;
}

#[tokio::test]
async fn group_changes_are_idempotent() {
    let f = Fixture::start().await;
    let a = f.healthy(3).await;
    let group = if a.groups.iter().any(|g| g == "VPN Users") {
        "Contractors"
    } else {
        "VPN Users"
    };
    for _ in 0..2 {
        f.dir.add_to_group(&a.sam_name, group).await.expect("add");
    }
    let groups = f.dir.account(&a.sam_name).await.expect("account").groups;
    assert_eq!(
        groups.iter().filter(|g| *g == group).count(),
        1,
        "{groups:?}"
    );
    for _ in 0..2 {
        f.dir
            .remove_from_group(&a.sam_name, group)
            .await
            .expect("remove");
    }
    let groups = f.dir.account(&a.sam_name).await.expect("account").groups;
    assert!(!groups.iter().any(|g| g == group), "{groups:?}");
    let err = f.dir.add_to_group(&a.sam_name, "No Such Group").await;
    assert!(matches!(err, Err(DirectoryError::NotFound(_))), "{err:?}");
    f.lab.shutdown().await;
}

#[tokio::test]
async fn weak_passwords_are_refused_clearly_and_change_nothing() {
    let f = Fixture::start().await;
    let a = f.healthy(4).await;
    let known = Secret::new("Known#Pass-2027");
    f.dir
        .reset_password(&a.sam_name, &known, reset(false))
        .await
        .expect("reset");
    let name_in_it = format!("{}#2027X", a.sam_name);
    for (weak, rule) in [
        ("Sh0rt!", "too short"),
        ("alllowercase2027", "complexity"),
        (name_in_it.as_str(), "account name"),
    ] {
        let err = f
            .dir
            .reset_password(&a.sam_name, &Secret::new(weak), reset(false))
            .await
            .expect_err("weak password");
        let message = err.to_string();
        assert!(matches!(err, DirectoryError::PasswordRefused(_)), "{err:?}");
        assert!(message.contains(rule), "{message}");
        assert!(!message.contains(weak), "{message}");
        assert!(!format!("{err:?}").contains(weak));
    }
    assert_eq!(f.logon(&a.sam_name, known.expose()).await, "accepted");
    f.lab.shutdown().await;
}

#[tokio::test]
async fn unknown_users_protected_accounts_and_creation_are_refused() {
    let f = Fixture::start().await;
    let pw = Secret::new("Fine#Pass-2027");
    for result in [
        f.dir.account("LAB\\no.such.user").await.map(|_| ()),
        f.dir
            .reset_password("no.such.user", &pw, reset(false))
            .await,
        f.dir.unlock("no.such.user@lab.example").await,
    ] {
        assert!(
            matches!(result, Err(DirectoryError::NotFound(_))),
            "{result:?}"
        );
    }
    let err = f
        .dir
        .reset_password("administrator", &pw, reset(false))
        .await
        .expect_err("protected");
    assert!(matches!(err, DirectoryError::Denied(_)), "{err:?}");
    let new = NewAccount {
        sam_name: "new.starter".into(),
        given_name: "New".into(),
        surname: "Starter".into(),
        display_name: "New Starter".into(),
        upn: "new.starter@lab.example".into(),
        mail: "new.starter@lab.example".into(),
        ou: String::new(),
        password: pw.clone(),
        must_change: true,
    };
    let err = f.dir.create(&new).await.expect_err("no creation");
    assert!(matches!(err, DirectoryError::Unsupported(_)), "{err:?}");
    f.lab.shutdown().await;
}

#[tokio::test]
async fn every_site_of_the_lab_serves_the_same_directory() {
    let f = Fixture::start().await;
    let a = f.healthy(5).await;
    let pw = Secret::new("Shared#Pass-2027");
    f.dir
        .reset_password(&a.sam_name, &pw, reset(true))
        .await
        .expect("reset");
    for site in &f.lab.info().sites {
        let other = directory(site);
        assert!(
            other
                .account(&a.sam_name)
                .await
                .expect("account")
                .must_change,
            "{}",
            site.name
        );
    }
    f.lab.shutdown().await;
}

/// A token for an on-prem site, for raw calls.
async fn raw_token(http: &reqwest::Client, site: &SiteInfo) -> String {
    let SiteCredentials::Basic { username, password } = &site.credentials else {
        panic!("the first lab site is on-prem");
    };
    let response = http
        .post(&site.token_url)
        .basic_auth(username, Some(password))
        .send()
        .await
        .expect("token");
    let body: Value = response.json().await.expect("json");
    body["Token"].as_str().expect("Token").to_string()
}

#[tokio::test]
async fn no_identity_answer_ever_contains_a_password() {
    let f = Fixture::start().await;
    let a = f.healthy(6).await;
    let site = f.lab.info().sites[0].clone();
    let token = raw_token(&f.http, &site).await;
    let call = |method: Method, path: &str| {
        f.http
            .request(method, format!("{}/cvad/manage{path}", site.endpoints[0]))
            .header("Authorization", format!("CWSAuth bearer={token}"))
            .header("Citrix-CustomerId", &site.customer_id)
            .header("Citrix-InstanceId", &site.site_id)
    };
    let pw = "Visible#Never-2027";
    let patch = call(
        Method::PATCH,
        &format!(
            "/Identity/Users/{}?forest=lab.example&domain=LAB",
            a.sam_name
        ),
    )
    .json(&json!({ "NewPassword": pw }))
    .send()
    .await
    .expect("patch");
    assert_eq!(patch.status(), StatusCode::OK);
    let mut bodies = vec![patch.text().await.expect("body")];
    for path in [
        format!("/Identity/Users/{}", a.sam_name),
        format!("/Identity/Users?contains={}", a.sam_name),
        "/Identity/Users?limit=1000".to_string(),
    ] {
        let response = call(Method::GET, &path).send().await.expect("get");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        bodies.push(response.text().await.expect("body"));
    }
    let weak = call(
        Method::PATCH,
        &format!(
            "/Identity/Users/{}?forest=lab.example&domain=LAB",
            a.sam_name
        ),
    )
    .json(&json!({ "NewPassword": "weakpw" }))
    .send()
    .await
    .expect("patch");
    assert_eq!(weak.status(), StatusCode::BAD_REQUEST);
    let weak_body = weak.text().await.expect("body");
    assert!(weak_body.contains("0000052D"), "{weak_body}");
    assert!(!weak_body.contains("weakpw"), "{weak_body}");
    for body in &bodies {
        assert!(body.contains(&a.sam_name), "the answer is about the user");
        assert!(!body.contains(pw), "a password in {body}");
        assert!(!body.contains("Password\":"), "a password field in {body}");
    }
    // startsWith, contains and matches are exclusive, as on the real API.
    let both = call(Method::GET, "/Identity/Users?startsWith=a&contains=b")
        .send()
        .await
        .expect("get");
    assert_eq!(both.status(), StatusCode::BAD_REQUEST);
    let text = both.text().await.expect("body");
    assert!(text.contains("exclusive"), "{text}");
    // The real API insists on the forest and domain of the change.
    let missing = call(Method::PATCH, &format!("/Identity/Users/{}", a.sam_name))
        .json(&json!({ "NewPassword": pw }))
        .send()
        .await
        .expect("patch");
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    f.lab.shutdown().await;
}

#[tokio::test]
async fn the_identity_listing_pages_filters_and_refuses_bad_queries() {
    use deskbridge::cvad::wire_identity::IdentityValidateUserRequest;
    use deskbridge::cvad::{CvadError, IdentityQuery, IdentityText};
    let f = Fixture::start().await;
    let client = CvadClient::new(CvadConfig::from_lab(&f.lab.info().sites[0])).expect("client");

    // Pages of 50 walk every account once, in sAMAccountName order.
    let mut pager = client.identity_users_pager(&IdentityQuery::default(), 50);
    let mut sams = Vec::new();
    while let Some(page) = pager.next_page().await.expect("page") {
        assert!(page.items.len() <= 50);
        sams.extend(page.items.into_iter().filter_map(|u| u.sam_account_name));
    }
    assert!(pager.pages_fetched() > 5);
    let mut sorted = sams.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sams, sorted, "every account once, in order");

    // parentOU narrows to one department of one office; recursive=false to direct children.
    let ou = "OU=Finance,OU=London,OU=People,DC=lab,DC=example";
    let query = IdentityQuery {
        parent_ou: Some(ou.into()),
        ..IdentityQuery::default()
    };
    let finance = client.identity_users(&query, 1000).await.expect("list");
    assert!(!finance.is_empty());
    assert!(finance.len() < sams.len());
    for user in &finance {
        let dn = user.distinguished_name.as_deref().unwrap_or_default();
        assert!(dn.ends_with(ou), "{dn}");
    }
    let people = IdentityQuery {
        parent_ou: Some("OU=People,DC=lab,DC=example".into()),
        recursive: Some(false),
        ..IdentityQuery::default()
    };
    assert!(
        client
            .identity_users(&people, 10)
            .await
            .expect("list")
            .is_empty()
    );

    // Groups are looked up by SID with the repeatable `user` parameter.
    let a = f.healthy(7).await;
    let wire = client.identity_user(&a.sam_name).await.expect("user");
    let sids = wire.group_sids.clone().expect("group sids");
    let groups = IdentityQuery {
        users: sids.clone(),
        ..IdentityQuery::default()
    };
    let found = client.identity_users(&groups, 100).await.expect("groups");
    assert_eq!(found.len(), sids.len());
    assert!(found.iter().all(|g| g.is_group == Some(true)));

    // startsWith matches the start of a name; another domain is not the lab's.
    let starts = IdentityQuery {
        text: Some(IdentityText::StartsWith("b".into())),
        ..IdentityQuery::default()
    };
    let found = client.identity_users(&starts, 1000).await.expect("list");
    assert!(!found.is_empty() && found.len() < sams.len());
    for user in &found {
        let names = [
            user.sam_account_name.clone().unwrap_or_default(),
            user.display_name.to_lowercase(),
        ];
        assert!(names.iter().any(|n| n.starts_with('b')), "{names:?}");
    }
    let elsewhere = IdentityQuery {
        domain: Some("OTHER".into()),
        ..IdentityQuery::default()
    };
    let err = client
        .identity_users(&elsewhere, 10)
        .await
        .expect_err("other domain");
    assert!(err.is_not_found(), "{err}");

    // $validate checks a password like a logon, and a wrong one counts as a bad logon.
    let pw = Secret::new("Valid#Pass-2027");
    f.dir
        .reset_password(&a.sam_name, &pw, reset(false))
        .await
        .expect("reset");
    let check = |password: &str| IdentityValidateUserRequest {
        user_name: a.qualified_name(),
        password: Secret::new(password),
        ..IdentityValidateUserRequest::default()
    };
    let ok = client
        .validate_identity_user(&check(pw.expose()))
        .await
        .expect("valid");
    assert_eq!(ok.sam_account_name.as_deref(), Some(a.sam_name.as_str()));
    let err = client
        .validate_identity_user(&check("Wrong#Pass-2027"))
        .await
        .expect_err("wrong password");
    assert!(matches!(err, CvadError::Api { status: 400, .. }), "{err}");
    assert!(!err.to_string().contains("Wrong#Pass"), "{err}");
    let (_, state) = f
        .control(&a.sam_name, "bad-logons", json!({ "count": 1 }))
        .await;
    assert_eq!(state["bad_logons"], 2, "{state}");
    f.lab.shutdown().await;
}
