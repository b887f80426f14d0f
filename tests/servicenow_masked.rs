//! Masked catalog variables over real HTTP against the lab's ServiceNow: "Reset my password"
//! ordered through the Service Catalog API carries its security code and new password in
//! masked variables; the client reads them as secrets, plans the zero-touch password reset
//! from them, clears them in ServiceNow and reads them back empty, while the plain `user`
//! variable stays. Clearing a variable the item does not have is an error.

use std::collections::BTreeMap;

use deskbridge::adapter::tickets::fulfil::{CatalogRequest, Person, plan_in};
use deskbridge::lab::{Lab, LabOptions};
use deskbridge::servicenow::{
    AuthMode, MASKED_TYPE, ServiceNowClient, ServiceNowConfig, TypedVariable, VariableValue,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const ITEM: &str = "Reset my password";
const CODE: &str = "884213";
const PASSWORD: &str = "Horse-Battery-9!";

async fn start() -> Result<(Lab, ServiceNowClient), Box<dyn std::error::Error>> {
    let lab = Lab::start(LabOptions::default()).await?;
    let info = lab
        .info()
        .servicenow
        .first()
        .cloned()
        .ok_or("the lab has no ServiceNow instance")?;
    let sn = ServiceNowClient::new(ServiceNowConfig::from_lab(&info, AuthMode::OAuthPassword))?;
    Ok((lab, sn))
}

/// Orders the password item for the lab user `user_name` with `variables`; returns the
/// requested item's sys_id and the user.
async fn order(
    sn: &ServiceNowClient,
    user_name: &str,
    variables: &[(&str, &str)],
) -> Result<(String, Person), Box<dyn std::error::Error>> {
    let user = sn
        .user_by_user_name(user_name)
        .await?
        .ok_or_else(|| format!("ServiceNow has no user {user_name}"))?;
    let item = sn
        .catalog_item_by_name(ITEM)
        .await?
        .ok_or("the lab catalog has no \"Reset my password\"")?;
    let mut vars: BTreeMap<String, String> = variables
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    vars.insert("requested_for".into(), user.sys_id.clone());
    let ordered = sn.order_now(&item, Some(&user.sys_id), &vars).await?;
    let ritm = ordered.items.first().ok_or("order_now created no item")?;
    let person = Person {
        sys_id: user.sys_id,
        user_name: user.user_name,
        email: user.user.mail,
        name: user.user.display_name,
    };
    Ok((ritm.sys_id.clone(), person))
}

/// A lab user's ServiceNow user name (the AD sAMAccountName).
async fn some_user(sn: &ServiceNowClient) -> Result<String, Box<dyn std::error::Error>> {
    let params = deskbridge::servicenow::ListParams::new()
        .query(
            deskbridge::servicenow::Query::new()
                .eq("active", "true")
                .order_by("user_name")
                .build()?,
        )
        .fields(["user_name"])
        .page_size(50)
        .max_records(50);
    let rows = sn.list("sys_user", &params).await?;
    rows.iter()
        .map(|r| r.text("user_name"))
        // Service accounts (svc.…) are not people with a directory account to reset.
        .find(|u| {
            !u.is_empty()
                && !u.starts_with("svc.")
                && u.chars().all(|c| c.is_ascii_alphanumeric() || c == '.')
        })
        .ok_or_else(|| "no plain lab user".into())
}

fn find<'a>(vars: &'a [TypedVariable], name: &str) -> &'a TypedVariable {
    vars.iter()
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("variable {name} missing from {vars:?}"))
}

#[tokio::test]
async fn masked_variables_are_read_as_secrets_then_cleared_and_plain_ones_stay() -> TestResult {
    let (lab, sn) = start().await?;
    let sam = some_user(&sn).await?;
    let account = format!("LAB\\{sam}");
    let (ritm, person) = order(
        &sn,
        &sam,
        &[
            ("user", &account),
            ("security_code", CODE),
            ("new_password", PASSWORD),
        ],
    )
    .await?;

    let vars = sn.typed_variables(&ritm).await?;
    let shown = format!("{vars:?}");
    assert!(!shown.contains(CODE), "the code shows in Debug: {shown}");
    assert!(
        !shown.contains(PASSWORD),
        "the password shows in Debug: {shown}"
    );
    for name in ["security_code", "new_password"] {
        let var = find(&vars, name);
        assert!(var.is_masked(), "{name} is not masked: {var:?}");
        assert_eq!(var.kind, MASKED_TYPE);
    }
    let secret = |name: &str| match &find(&vars, name).value {
        VariableValue::Masked(s) => s.expose().to_owned(),
        VariableValue::Plain(_) => panic!("{name} came back as a plain value"),
    };
    assert_eq!(secret("security_code"), CODE);
    assert_eq!(secret("new_password"), PASSWORD);
    assert_eq!(
        find(&vars, "user").value,
        VariableValue::Plain(account.clone())
    );

    // The zero-touch recipe over what was read: the account target, the secrets apart.
    let request = CatalogRequest {
        item: ITEM.to_owned(),
        variables: vars
            .iter()
            .map(|v| {
                let value = match &v.value {
                    VariableValue::Plain(s) => s.clone(),
                    VariableValue::Masked(s) => s.expose().to_owned(),
                };
                (v.name.clone(), value)
            })
            .collect(),
        requested_for: Some(person),
    };
    let plan = plan_in(&request, &[], &["LAB".to_owned()])?;
    assert_eq!(plan.action, "account.password_reset");
    assert_eq!(
        (plan.targets[0].site.as_str(), plan.targets[0].id.as_str()),
        ("LAB", sam.as_str())
    );
    let stored = plan.params.to_string();
    assert!(
        !stored.contains(CODE) && !stored.contains(PASSWORD),
        "{stored}"
    );
    assert_eq!(plan.request_params()["verification"]["code"], CODE);
    assert_eq!(plan.request_params()["password"], PASSWORD);

    // Clear what the plan says to clear, then read again.
    for name in &plan.clear_variables {
        sn.clear_variable(&ritm, name).await?;
    }
    let after = sn.typed_variables(&ritm).await?;
    for name in ["security_code", "new_password"] {
        assert!(
            find(&after, name).value.is_empty(),
            "{name} still holds a value after clearing"
        );
    }
    assert_eq!(find(&after, "user").value, VariableValue::Plain(account));
    // The plain reader sees the same: nothing left to clear.
    assert!(sn.clear_masked_variables(&ritm).await?.is_empty());

    let err = sn
        .clear_variable(&ritm, "no_such_variable")
        .await
        .expect_err("clearing a variable the item does not have");
    let text = err.to_string();
    assert!(text.contains("no_such_variable"), "{text}");
    assert!(text.contains("nothing was cleared"), "{text}");
    lab.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn clearing_all_masked_variables_names_what_it_cleared() -> TestResult {
    let (lab, sn) = start().await?;
    let sam = some_user(&sn).await?;
    let (ritm, _) = order(
        &sn,
        &sam,
        &[
            ("user", &sam),
            ("security_code", CODE),
            ("unlock_account", "true"),
        ],
    )
    .await?;
    // Only the code was given: the optional password is empty and has nothing to clear.
    assert_eq!(sn.clear_masked_variables(&ritm).await?, ["security_code"]);
    let after = sn.typed_variables(&ritm).await?;
    assert!(
        after
            .iter()
            .filter(|v| v.is_masked())
            .all(|v| v.value.is_empty())
    );
    assert_eq!(find(&after, "user").value, VariableValue::Plain(sam));
    assert_eq!(
        find(&after, "unlock_account").value,
        VariableValue::Plain("true".to_owned())
    );
    lab.shutdown().await;
    Ok(())
}
