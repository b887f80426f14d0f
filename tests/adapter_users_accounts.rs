//! Account states in the users inventory (issue 5): the lab's directory listed whole through
//! its pages, and `GET /api/v1/users` showing and filtering by locked / disabled /
//! must-change, over real HTTP against a lab.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use deskbridge::cvad::{CvadClient, CvadConfig};
use deskbridge::directory::Directory;
use deskbridge::directory::cvad_identity::CvadIdentityDirectory;
use deskbridge::lab::{Lab, LabOptions, Scale};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{LabAdapter, token, until};

async fn get(http: &reqwest::Client, url: &str, bearer: &str) -> (StatusCode, Value) {
    let response = http
        .get(url)
        .bearer_auth(bearer)
        .send()
        .await
        .expect("request");
    let status = response.status();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn the_lab_directory_is_listed_completely_through_its_pages() {
    let lab = Lab::start(LabOptions::default()).await.expect("lab starts");
    let site = lab.info().sites[0].clone();
    let client = CvadClient::new(CvadConfig::from_lab(&site)).expect("client");
    let dir = CvadIdentityDirectory::new(client, "LAB");

    let mut seen = HashSet::new();
    let (mut locked, mut disabled, mut must_change) = (0, 0, 0);
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let (accounts, next) = dir
            .accounts_page(cursor.as_deref(), 37)
            .await
            .expect("a page over HTTP");
        assert!(accounts.len() <= 37, "{} in a page of 37", accounts.len());
        pages += 1;
        for a in accounts {
            assert_eq!(a.domain, "LAB", "{a:?}");
            locked += usize::from(a.locked);
            disabled += usize::from(a.disabled);
            must_change += usize::from(a.must_change);
            assert!(
                seen.insert(a.sam_name.to_lowercase()),
                "{} listed twice",
                a.sam_name
            );
        }
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
        assert!(pages < 1000, "the pages never end");
    }
    assert!(
        pages > 1,
        "the directory fits one page of 37: {}",
        seen.len()
    );

    let summary: Value = reqwest::get(format!("{}/directory", lab.info().control))
        .await
        .expect("summary")
        .json()
        .await
        .expect("summary JSON");
    assert_eq!(
        Some(seen.len() as u64),
        summary["accounts"].as_u64(),
        "{summary}"
    );
    assert_eq!(Some(locked as u64), summary["locked"].as_u64(), "{summary}");
    assert_eq!(
        Some(disabled as u64),
        summary["disabled"].as_u64(),
        "{summary}"
    );
    assert_eq!(
        Some(must_change as u64),
        summary["must_change"].as_u64(),
        "{summary}"
    );
    lab.shutdown().await;
}

/// Every user of the list (all pages), with the query `extra` added.
async fn all_users(http: &reqwest::Client, url: &str, bearer: &str, extra: &str) -> Vec<Value> {
    let mut users = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = get(
            http,
            &format!("{url}/api/v1/users?limit=1000{extra}{cursor}"),
            bearer,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        users.extend(page["items"].as_array().expect("items").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return users,
        }
    }
}

#[tokio::test]
async fn users_show_and_filter_by_their_account_state() {
    let env = LabAdapter::start(Scale::Small, &|_| {}).await;
    let http = reqwest::Client::new();
    let viewer = token(&http, &env.url, env.id("viewer")).await;

    // The first refresh of the sites and of the directory joins accounts into the users.
    let everyone = until(
        "users with account states",
        Duration::from_secs(30),
        async || {
            let users = all_users(&http, &env.url, &viewer, "").await;
            let known = users.iter().filter(|u| u["account"].is_object()).count();
            (known > 0 && known == users.len()).then_some(users)
        },
    )
    .await;
    for user in &everyone {
        let account = &user["account"];
        for field in ["locked", "disabled", "must_change"] {
            assert!(account[field].is_boolean(), "{user}");
        }
        assert!(account.get("password_expires").is_some(), "{user}");
    }

    // locked=true is exactly the users whose account is locked, and locked=false the rest.
    let locked_before = all_users(&http, &env.url, &viewer, "&locked=true").await;
    assert!(locked_before.iter().all(|u| u["account"]["locked"] == true));
    let unlocked = all_users(&http, &env.url, &viewer, "&locked=false").await;
    assert!(unlocked.iter().all(|u| u["account"]["locked"] == false));
    assert_eq!(locked_before.len() + unlocked.len(), everyone.len());
    let disabled = all_users(&http, &env.url, &viewer, "&disabled=TRUE").await;
    let counted = everyone
        .iter()
        .filter(|u| u["account"]["disabled"] == true)
        .count();
    assert_eq!(disabled.len(), counted);

    // Lock one user at the lab's logon screen; reading the account shows it in the list.
    let victim = unlocked
        .iter()
        .filter_map(|u| u["user_name"].as_str())
        .find_map(|n| n.strip_prefix("LAB\\"))
        .expect("an unlocked LAB user")
        .to_owned();
    let response = http
        .post(format!(
            "{}/directory/users/{victim}/bad-logons",
            env.lab.info().control
        ))
        .json(&json!({}))
        .send()
        .await
        .expect("bad logons");
    assert!(response.status().is_success());
    let (status, account) = get(
        &http,
        &format!("{}/api/v1/accounts/LAB/{victim}", env.url),
        &viewer,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{account}");
    assert_eq!(account["locked"], true, "{account}");
    let locked_after = all_users(&http, &env.url, &viewer, "&locked=true").await;
    assert_eq!(locked_after.len(), locked_before.len() + 1);
    let shown = locked_after
        .iter()
        .find(|u| u["user_name"].as_str() == Some(&format!("LAB\\{victim}")))
        .expect("the locked user is listed as locked");
    assert_eq!(shown["account"]["locked"], true, "{shown}");

    // With text: the locked user by name, and nobody by a name that is not locked.
    let by_name = all_users(
        &http,
        &env.url,
        &viewer,
        &format!("&locked=true&q={victim}"),
    )
    .await;
    assert!(
        by_name
            .iter()
            .any(|u| u["user_name"].as_str() == Some(&format!("LAB\\{victim}"))),
        "{by_name:?}"
    );
    assert!(by_name.iter().all(|u| u["account"]["locked"] == true));
    let still = all_users(
        &http,
        &env.url,
        &viewer,
        &format!("&locked=false&q={victim}"),
    )
    .await;
    assert!(
        still
            .iter()
            .all(|u| u["user_name"].as_str() != Some(&format!("LAB\\{victim}"))),
        "{still:?}"
    );

    // An unlock job changes the list by itself: the engine hands the account, as the
    // directory reads it after the change, to the inventory.
    let helpdesk = token(&http, &env.url, env.id("helpdesk")).await;
    let created: Value = http
        .post(format!("{}/api/v1/jobs", env.url))
        .bearer_auth(&helpdesk)
        .json(&json!({ "action": "account.unlock", "targets": [{ "site": "LAB", "id": victim }] }))
        .send()
        .await
        .expect("unlock job")
        .json()
        .await
        .expect("job JSON");
    assert!(created["id"].is_string(), "{created}");
    until(
        "the list to show the unlock",
        Duration::from_secs(30),
        async || {
            let users = all_users(&http, &env.url, &viewer, &format!("&q={victim}")).await;
            users
                .iter()
                .find(|u| u["user_name"].as_str() == Some(&format!("LAB\\{victim}")))
                .filter(|u| u["account"]["locked"] == false)
                .cloned()
        },
    )
    .await;

    // Bad values name the parameter; other lists do not take account filters.
    let (status, body) = get(
        &http,
        &format!("{}/api/v1/users?locked=maybe", env.url),
        &viewer,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.to_string().contains("locked=\\\"maybe\\\""), "{body}");
    let (status, body) = get(
        &http,
        &format!("{}/api/v1/machines?must_change=true", env.url),
        &viewer,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.to_string().contains("must_change"), "{body}");
    env.stop().await;
}
