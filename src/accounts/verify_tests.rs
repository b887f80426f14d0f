//! Tests of the security-code rules: attempt counting, lockout, windows, one-time use,
//! expiry, user keys and configuration.

use chrono::TimeZone;

use super::*;

fn t(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0)
        .single()
        .expect("valid time")
        + TimeDelta::minutes(minutes)
}

fn policy() -> VerificationPolicy {
    VerificationPolicy::default()
}

#[test]
fn wrong_codes_count_down_then_lock_for_the_lockout() {
    let mut state = CodeState::new(CodeKind::Standing, None);
    let mut left = Vec::new();
    for _ in 0..4 {
        let (outcome, next) = state.decide(t(1), false, &policy());
        match outcome {
            Verification::Wrong {
                attempts_left,
                locked_until: None,
            } => left.push(attempts_left),
            other => panic!("unexpected {other:?}"),
        }
        state = next;
    }
    assert_eq!(left, vec![4, 3, 2, 1]);
    let (outcome, state) = state.decide(t(2), false, &policy());
    assert_eq!(
        outcome,
        Verification::Wrong {
            attempts_left: 0,
            locked_until: Some(t(17))
        }
    );
    // Locked: the right code is refused, and refusing changes nothing.
    let (outcome, same) = state.decide(t(16), true, &policy());
    assert_eq!(outcome, Verification::LockedOut { until: t(17) });
    assert_eq!(same, state);
    // After the lockout the right code works and starts from a clean slate.
    let (outcome, state) = state.decide(t(17), true, &policy());
    assert_eq!(outcome, Verification::Verified);
    assert_eq!(state.failed_attempts, 0);
    assert_eq!(state.locked_until, None);
}

#[test]
fn after_a_lockout_the_user_gets_a_full_set_of_attempts() {
    let mut state = CodeState::new(CodeKind::Standing, None);
    for _ in 0..5 {
        state = state.decide(t(0), false, &policy()).1;
    }
    let (outcome, _) = state.decide(t(20), false, &policy());
    assert_eq!(
        outcome,
        Verification::Wrong {
            attempts_left: 4,
            locked_until: None
        }
    );
}

#[test]
fn a_success_resets_the_count() {
    let mut state = CodeState::new(CodeKind::Standing, None);
    for _ in 0..3 {
        state = state.decide(t(0), false, &policy()).1;
    }
    let (outcome, state) = state.decide(t(1), true, &policy());
    assert_eq!(outcome, Verification::Verified);
    let (outcome, _) = state.decide(t(2), false, &policy());
    assert_eq!(
        outcome,
        Verification::Wrong {
            attempts_left: 4,
            locked_until: None
        }
    );
}

#[test]
fn wrong_codes_outside_the_window_are_forgotten() {
    let mut state = CodeState::new(CodeKind::Standing, None);
    for _ in 0..4 {
        state = state.decide(t(0), false, &policy()).1;
    }
    // The window (15 min) started at t(0); at t(15) it is over.
    let (outcome, _) = state.decide(t(15), false, &policy());
    assert_eq!(
        outcome,
        Verification::Wrong {
            attempts_left: 4,
            locked_until: None
        }
    );
    let (outcome, _) = state.decide(t(14), false, &policy());
    assert!(matches!(
        outcome,
        Verification::Wrong {
            locked_until: Some(_),
            ..
        }
    ));
}

#[test]
fn a_one_time_code_is_single_use_and_a_standing_code_is_not() {
    let once = CodeState::new(CodeKind::OneTime, None);
    let (outcome, used) = once.decide(t(0), true, &policy());
    assert_eq!(outcome, Verification::Verified);
    assert_eq!(used.used_at, Some(t(0)));
    assert_eq!(
        used.decide(t(1), true, &policy()).0,
        Verification::AlreadyUsed
    );

    let standing = CodeState::new(CodeKind::Standing, None);
    let (_, again) = standing.decide(t(0), true, &policy());
    assert_eq!(
        again.decide(t(1), true, &policy()).0,
        Verification::Verified
    );
}

#[test]
fn an_expired_code_is_refused_even_when_right() {
    let state = CodeState::new(CodeKind::Standing, Some(t(10)));
    assert_eq!(
        state.decide(t(9), true, &policy()).0,
        Verification::Verified
    );
    let (outcome, after) = state.decide(t(10), true, &policy());
    assert_eq!(outcome, Verification::Expired);
    assert_eq!(after, state, "a refusal before comparing changes nothing");
}

#[test]
fn a_limit_of_one_locks_on_the_first_wrong_code() {
    let strict = VerificationPolicy {
        max_attempts: 1,
        ..policy()
    };
    let state = CodeState::new(CodeKind::Standing, None);
    assert!(matches!(
        state.decide(t(0), false, &strict).0,
        Verification::Wrong {
            attempts_left: 0,
            locked_until: Some(_)
        }
    ));
}

#[test]
fn messages_tell_the_operator_what_to_do() {
    let wrong = Verification::Wrong {
        attempts_left: 2,
        locked_until: None,
    };
    assert_eq!(
        wrong.message(),
        "wrong security code; 2 attempts left before the code locks"
    );
    let locked = Verification::LockedOut { until: t(17) };
    assert!(
        locked.message().contains("after 09:17 UTC"),
        "{}",
        locked.message()
    );
    assert!(Verification::NotEnrolled.message().contains("another way"));
    assert_eq!(locked.as_str(), "locked_out");
    assert_eq!(
        Verification::Wrong {
            attempts_left: 0,
            locked_until: Some(t(1))
        }
        .as_str(),
        "wrong_locked"
    );
}

#[test]
fn user_keys_ignore_domain_and_case() {
    assert_eq!(
        normalise_user("LAB\\Alice.Smith"),
        Ok("alice.smith".to_owned())
    );
    assert_eq!(
        normalise_user(" ALICE.SMITH "),
        Ok("alice.smith".to_owned())
    );
    assert_eq!(
        normalise_user("alice@lab.example"),
        Ok("alice@lab.example".to_owned())
    );
    assert!(normalise_user("LAB\\").is_err());
    assert!(normalise_user("   ").is_err());
}

#[test]
fn new_codes_are_checked_without_being_repeated() {
    assert!(check_new_code(" 482913 ").is_ok());
    let err = check_new_code("4829").expect_err("too short");
    assert_eq!(err, "a security code needs at least 6 characters (has 4)");
    assert!(check_new_code(&"7".repeat(129)).is_err());
    let err = check_new_code("4829\n13").expect_err("control character");
    assert!(!err.contains("4829"));
}

#[test]
fn the_policy_reads_from_toml_with_defaults() {
    let p: VerificationPolicy =
        toml::from_str("max_attempts = 3\nlockout = \"1h\"").expect("valid policy");
    assert_eq!(p.max_attempts, 3);
    assert_eq!(p.window, Duration::from_secs(900));
    assert_eq!(p.lockout, Duration::from_secs(3600));
    assert_eq!(
        toml::from_str::<VerificationPolicy>("").expect("empty"),
        policy()
    );
    let err = toml::from_str::<VerificationPolicy>("lockout = \"15\"").expect_err("no unit");
    assert!(err.to_string().contains("unit"), "{err}");
    let err = toml::from_str::<VerificationPolicy>("max_tries = 3").expect_err("typo");
    assert!(err.to_string().contains("max_tries"), "{err}");
}
