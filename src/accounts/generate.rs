//! Temporary passwords: random, read aloud or typed from a screen without mistakes, and
//! always accepted by the policy they were made for.
//!
//! The password comes from `rand::rng()`, a CSPRNG (ChaCha12) seeded and reseeded from the
//! operating system. It is returned as a [`Secret`] so that it is shown once to the operator
//! and never logged or stored: the adapter sends it to the directory and forgets it.

use rand::Rng;
use rand::seq::SliceRandom;

use super::policy::{AccountNames, CharClass, PasswordPolicy, PolicyError};
use crate::secret::Secret;

/// The length of a temporary password unless the policy asks for more (or allows less).
pub const TEMPORARY_LENGTH: usize = 16;

// Alphabets without look-alikes (0/O, 1/l/I, |) and without characters that need quoting
// in a shell or a URL, or that vanish at the end of a line (space).
const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
const DIGITS: &[u8] = b"23456789";
const SYMBOLS: &[u8] = b"!#%+-=?@^_~*";

/// A random password can contain a short name part or a listed word by chance; it is drawn
/// again, which a sane policy needs at most a few times.
const MAX_DRAWS: usize = 100;

fn alphabet(class: CharClass) -> &'static [u8] {
    match class {
        CharClass::Lower => LOWER,
        CharClass::Upper => UPPER,
        CharClass::Digit => DIGITS,
        CharClass::Symbol => SYMBOLS,
    }
}

/// A temporary password for the account named by `account` that passes `policy`:
/// `max(min_length, 16)` characters (at most `max_length`), with every class the policy
/// needs. Fails only when the policy's settings are invalid or refuse everything drawn.
pub fn generate(policy: &PasswordPolicy, account: &AccountNames) -> Result<Secret, PolicyError> {
    policy.validate()?;
    let length = policy
        .min_length
        .max(TEMPORARY_LENGTH)
        .min(policy.max_length);
    let classes = classes_for(policy, length);
    let mut rng = rand::rng();
    for _ in 0..MAX_DRAWS {
        let candidate = draw(&mut rng, &classes, length);
        if policy.check(&candidate, account).is_empty() {
            return Ok(Secret::new(candidate));
        }
    }
    Err(PolicyError::Invalid(format!(
        "no random password out of {MAX_DRAWS} passed the policy; check that the deny list \
         and name rules leave room for {length}-character passwords"
    )))
}

/// The classes to draw from: all four when they fit (the strongest mix), else the required
/// classes topped up to the number the policy needs.
fn classes_for(policy: &PasswordPolicy, length: usize) -> Vec<CharClass> {
    if length >= CharClass::ALL.len() {
        return CharClass::ALL.to_vec();
    }
    let mut classes = policy.required_classes.clone();
    classes.sort();
    classes.dedup();
    for class in CharClass::ALL {
        if classes.len() >= policy.classes_needed().max(1) {
            break;
        }
        if !classes.contains(&class) {
            classes.push(class);
        }
    }
    classes
}

/// One character of each class, the rest from all of them, in random order.
fn draw(rng: &mut impl Rng, classes: &[CharClass], length: usize) -> String {
    let pool: Vec<u8> = classes.iter().flat_map(|c| alphabet(*c)).copied().collect();
    let mut chars: Vec<char> = classes.iter().map(|c| pick(rng, alphabet(*c))).collect();
    while chars.len() < length {
        chars.push(pick(rng, &pool));
    }
    chars.truncate(length);
    chars.shuffle(rng);
    chars.into_iter().collect()
}

fn pick(rng: &mut impl Rng, set: &[u8]) -> char {
    char::from(set[rng.random_range(0..set.len())])
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::accounts::deny_list::DenyList;

    fn alice() -> AccountNames {
        AccountNames::new("LAB\\alice.smith", "Alice Smith-Jones")
    }

    #[test]
    fn every_generated_password_passes_its_policy() {
        let policies = [
            PasswordPolicy::default().with_deny_list(DenyList::parse("password\nsummer\n")),
            PasswordPolicy {
                min_length: 24,
                min_classes: 4,
                ..PasswordPolicy::default()
            },
            PasswordPolicy {
                min_classes: 0,
                required_classes: vec![CharClass::Symbol, CharClass::Digit],
                ..PasswordPolicy::default()
            },
        ];
        for policy in &policies {
            for _ in 0..2000 {
                let password = generate(policy, &alice()).expect("generate");
                let violations = policy.check(password.expose(), &alice());
                assert!(violations.is_empty(), "{violations:?}");
            }
        }
    }

    #[test]
    fn length_is_sixteen_or_the_policy_minimum_within_the_maximum() {
        let length = |policy: PasswordPolicy| {
            generate(&policy, &alice())
                .expect("generate")
                .expose()
                .chars()
                .count()
        };
        assert_eq!(length(PasswordPolicy::default()), 16);
        assert_eq!(
            length(PasswordPolicy {
                min_length: 20,
                ..PasswordPolicy::default()
            }),
            20
        );
        assert_eq!(
            length(PasswordPolicy {
                min_length: 8,
                max_length: 10,
                ..PasswordPolicy::default()
            }),
            10
        );
    }

    #[test]
    fn a_tiny_policy_still_gets_the_classes_it_needs() {
        let policy = PasswordPolicy {
            min_length: 3,
            max_length: 3,
            min_classes: 3,
            ..PasswordPolicy::default()
        };
        for _ in 0..500 {
            let password = generate(&policy, &alice()).expect("generate");
            assert_eq!(policy.check(password.expose(), &alice()), vec![]);
        }
    }

    #[test]
    fn no_ambiguous_characters_appear() {
        for _ in 0..2000 {
            let password = generate(&PasswordPolicy::default(), &alice()).expect("generate");
            let found: Vec<char> = password
                .expose()
                .chars()
                .filter(|c| "0O1lI| '\"\\`".contains(*c))
                .collect();
            assert!(found.is_empty(), "ambiguous characters {found:?}");
        }
    }

    #[test]
    fn passwords_differ_and_are_never_printed() {
        let seen: HashSet<String> = (0..1000)
            .map(|_| {
                let secret = generate(&PasswordPolicy::default(), &alice()).expect("generate");
                assert_eq!(format!("{secret:?} {secret}"), "Secret(***) ***");
                secret.expose().to_owned()
            })
            .collect();
        assert_eq!(seen.len(), 1000, "random passwords repeated");
    }

    #[test]
    fn every_character_of_the_alphabets_is_used() {
        // A generator stuck on part of its alphabet would still pass the policy.
        let used: HashSet<char> = (0..3000)
            .flat_map(|_| {
                let secret = generate(&PasswordPolicy::default(), &alice()).expect("generate");
                secret.expose().chars().collect::<Vec<_>>()
            })
            .collect();
        for c in [LOWER, UPPER, DIGITS, SYMBOLS].concat() {
            assert!(
                used.contains(&char::from(c)),
                "{} never drawn",
                char::from(c)
            );
        }
    }

    #[test]
    fn an_invalid_policy_is_an_error_not_a_panic() {
        let policy = PasswordPolicy {
            min_length: 30,
            max_length: 10,
            ..PasswordPolicy::default()
        };
        let err = generate(&policy, &alice()).expect_err("invalid policy");
        assert!(err.to_string().contains("max_length"), "{err}");
    }
}
