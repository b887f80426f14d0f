//! Tests of the password policy: every rule, its messages, configuration and edge cases.

use super::*;

fn alice() -> AccountNames {
    AccountNames::new("LAB\\alice.smith", "Alice Smith-Jones")
}

fn codes(policy: &PasswordPolicy, password: &str) -> Vec<ViolationCode> {
    policy
        .check(password, &alice())
        .into_iter()
        .map(|v| v.code)
        .collect()
}

#[test]
fn a_good_password_passes_the_default_policy() {
    let policy = PasswordPolicy::default();
    assert_eq!(policy.check("Correct-Horse-42", &alice()), vec![]);
    assert!(policy.summary("Correct-Horse-42", &alice()).acceptable());
}

#[test]
fn too_short_says_how_many_characters_are_needed_and_present() {
    let violations = PasswordPolicy::default().check("Tr0ub4dor", &alice());
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].code, ViolationCode::TooShort);
    assert_eq!(
        violations[0].message,
        "needs at least 12 characters (has 9)"
    );
}

#[test]
fn too_long_is_refused() {
    let policy = PasswordPolicy {
        max_length: 20,
        ..PasswordPolicy::default()
    };
    let long = "Abcdefghij-123456789xyz";
    let violations = policy.check(long, &alice());
    assert_eq!(violations[0].code, ViolationCode::TooLong);
    assert!(violations[0].message.contains("at most 20 (has 23)"));
}

#[test]
fn length_counts_characters_not_bytes() {
    // 12 characters, 24 bytes in UTF-8.
    let password = "Ééééééééé-9ü";
    assert_eq!(password.chars().count(), 12);
    assert!(!codes(&PasswordPolicy::default(), password).contains(&ViolationCode::TooShort));
    let eleven = "Éééééééé-9ü";
    assert!(codes(&PasswordPolicy::default(), eleven).contains(&ViolationCode::TooShort));
}

#[test]
fn three_of_four_classes_by_default() {
    let policy = PasswordPolicy::default();
    let two = policy.check("onlylowercase123", &alice());
    assert_eq!(two.len(), 1, "{two:?}");
    assert_eq!(two[0].code, ViolationCode::TooFewClasses);
    assert!(
        two[0].message.contains("needs 3 different kinds"),
        "{}",
        two[0].message
    );
    assert!(two[0].message.contains("(has 2)"), "{}", two[0].message);
    assert_eq!(codes(&policy, "onlylowercase123X"), vec![]);
    assert_eq!(
        codes(&policy, "onlylowercase!!!!"),
        vec![ViolationCode::TooFewClasses]
    );
}

#[test]
fn explicit_required_classes_name_the_missing_class() {
    let policy = PasswordPolicy {
        min_classes: 0,
        required_classes: vec![CharClass::Digit, CharClass::Symbol, CharClass::Digit],
        ..PasswordPolicy::default()
    };
    let violations = policy.check("NoDigitsOrSymbolsHere", &alice());
    let messages: Vec<&str> = violations.iter().map(|v| v.message.as_str()).collect();
    assert_eq!(messages, vec!["needs a digit", "needs a symbol"]);
    assert!(
        violations
            .iter()
            .all(|v| v.code == ViolationCode::MissingClass)
    );
    assert_eq!(codes(&policy, "lowercase only 7"), vec![]);
}

#[test]
fn unicode_letters_count_in_their_case_classes() {
    let policy = PasswordPolicy::default();
    // Upper- and lower-case Greek plus a symbol: three classes.
    assert_eq!(codes(&policy, "ΑλφαΒήταΓάμμα!"), vec![]);
    // Letters without case count only towards the length.
    assert_eq!(
        codes(&policy, "パスワードパスワード12"),
        vec![ViolationCode::TooFewClasses]
    );
}

#[test]
fn control_characters_are_refused() {
    let violations = PasswordPolicy::default().check("Correct\tHorse-42", &alice());
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].code, ViolationCode::ControlCharacter);
}

#[test]
fn the_account_name_is_refused_whatever_the_case_or_domain() {
    let policy = PasswordPolicy::default();
    assert_eq!(
        codes(&policy, "xx-ALICE.SMITH-99"),
        vec![ViolationCode::ContainsAccountName]
    );
    let bob = AccountNames::new("bob", "");
    assert_eq!(
        policy.check("Bob-Builder-2026", &bob)[0].code,
        ViolationCode::ContainsAccountName
    );
    // Names shorter than three characters are not checked, as in AD.
    let jo = AccountNames::new("jo", "Jo Li");
    assert_eq!(policy.check("Jo-Li-Rocks-2026", &jo), vec![]);
}

#[test]
fn parts_of_the_display_name_are_refused_without_being_named() {
    let policy = PasswordPolicy::default();
    let violations = policy.check("Horse-jones-1234", &alice());
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].code, ViolationCode::ContainsNamePart);
    assert!(!violations[0].message.to_lowercase().contains("jones"));
    // "Smith" is a part of the account name too.
    assert_eq!(
        codes(&policy, "SMITHY-horse-42"),
        vec![ViolationCode::ContainsNamePart]
    );
}

#[test]
fn the_name_rule_can_be_switched_off() {
    let policy = PasswordPolicy {
        forbid_names: false,
        ..PasswordPolicy::default()
    };
    assert_eq!(codes(&policy, "xx-ALICE.SMITH-99"), vec![]);
}

#[test]
fn deny_list_matches_case_insensitively_and_with_decoration() {
    let policy = PasswordPolicy {
        min_length: 6,
        ..PasswordPolicy::default()
    }
    .with_deny_list(DenyList::parse("summer\npassword\n"));
    let violations = policy.check("Summer2026!", &alice());
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].code, ViolationCode::Denied);
    assert_eq!(violations[0].message, "is on the list of common passwords");
    assert_eq!(codes(&policy, "PASSWORD1!"), vec![ViolationCode::Denied]);
    assert_eq!(codes(&policy, "Autumn2026!"), vec![]);
}

#[test]
fn messages_never_repeat_the_password() {
    let policy = PasswordPolicy::default().with_deny_list(DenyList::parse("alicepw"));
    for password in ["alicepw", "Alice.Smith", "Xq9", "Smith\n"] {
        for violation in policy.check(password, &alice()) {
            assert!(
                !violation.message.contains(password),
                "{:?} repeats the password",
                violation.message
            );
        }
    }
}

#[test]
fn an_empty_password_is_too_short_and_too_plain() {
    assert_eq!(
        codes(&PasswordPolicy::default(), ""),
        vec![ViolationCode::TooShort, ViolationCode::TooFewClasses]
    );
    let messages = PasswordPolicy::default().check("", &alice());
    assert!(messages[0].message.contains("(has 0)"));
}

#[test]
fn summary_lists_every_rule_with_its_state() {
    let policy = PasswordPolicy::default().with_deny_list(DenyList::parse("summer"));
    let summary = policy.summary("short", &alice());
    let labels: Vec<(&str, bool)> = summary
        .checks
        .iter()
        .map(|c| (c.label.as_str(), c.passed))
        .collect();
    assert_eq!(
        labels,
        vec![
            ("12 to 128 characters", false),
            (
                "3 of 4 kinds: lower-case, upper-case, digits, symbols",
                false
            ),
            ("no tabs, line breaks or other control characters", true),
            ("not the account name or parts of the user's name", true),
            ("not a common password", true),
        ]
    );
    assert_eq!(summary.length, 5);
    assert_eq!(summary.strength, Strength::Weak);
    assert!(!summary.acceptable());
}

#[test]
fn strength_grows_with_length_and_variety() {
    let policy = PasswordPolicy::default();
    assert_eq!(
        policy.summary("Correct-Hor5", &alice()).strength,
        Strength::Fair
    );
    assert_eq!(
        policy
            .summary("Correct-Horse-Battery-42", &alice())
            .strength,
        Strength::Strong
    );
}

#[test]
fn the_policy_reads_from_toml_with_defaults() {
    let policy: PasswordPolicy = toml::from_str(
        "min_length = 14\nrequired_classes = [\"digit\"]\ndeny_list = \"/etc/deskbridge/deny.txt\"",
    )
    .expect("valid policy");
    assert_eq!(policy.min_length, 14);
    assert_eq!(policy.max_length, 128);
    assert_eq!(policy.min_classes, 3);
    assert_eq!(policy.required_classes, vec![CharClass::Digit]);
    assert!(policy.forbid_names);
    let empty: PasswordPolicy = toml::from_str("").expect("empty policy");
    assert_eq!(empty.min_length, 12);
}

#[test]
fn unknown_keys_and_classes_are_refused() {
    let err = toml::from_str::<PasswordPolicy>("min_lenght = 14").expect_err("typo");
    assert!(err.to_string().contains("min_lenght"), "{err}");
    let err =
        toml::from_str::<PasswordPolicy>("required_classes = [\"emoji\"]").expect_err("class");
    assert!(err.to_string().contains("emoji"), "{err}");
}

#[test]
fn impossible_settings_are_explained() {
    let cases = [
        (
            PasswordPolicy {
                min_length: 0,
                ..PasswordPolicy::default()
            },
            "min_length",
        ),
        (
            PasswordPolicy {
                min_length: 20,
                max_length: 10,
                ..PasswordPolicy::default()
            },
            "max_length (10) is less than min_length (20)",
        ),
        (
            PasswordPolicy {
                min_classes: 5,
                ..PasswordPolicy::default()
            },
            "only 4 classes",
        ),
        (
            PasswordPolicy {
                min_length: 2,
                max_length: 2,
                ..PasswordPolicy::default()
            },
            "3 classes of character are required, but max_length is 2",
        ),
    ];
    for (policy, expected) in cases {
        let err = policy.load().expect_err("invalid policy");
        assert!(err.to_string().contains(expected), "{err}");
    }
}

#[test]
fn load_reads_the_deny_list_file_and_names_a_missing_one() {
    let path = std::env::temp_dir().join(format!("deskbridge-policy-{}.txt", uuid::Uuid::new_v4()));
    std::fs::write(&path, "# seasons\nwinter\n").expect("write deny list");
    let policy = PasswordPolicy {
        deny_list: Some(path.clone()),
        ..PasswordPolicy::default()
    }
    .load();
    let _ = std::fs::remove_file(&path);
    let policy = policy.expect("load policy");
    assert_eq!(codes(&policy, "Winter2026!!!"), vec![ViolationCode::Denied]);

    let missing = PasswordPolicy {
        deny_list: Some(path.clone()),
        ..PasswordPolicy::default()
    }
    .load()
    .expect_err("file is gone");
    assert!(
        missing.to_string().contains(&path.display().to_string()),
        "{missing}"
    );
}
