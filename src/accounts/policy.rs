//! The password policy a new password must meet before the adapter sends it to the directory.
//!
//! [`PasswordPolicy::check`] is pure and does no I/O (the deny list is loaded once by
//! [`PasswordPolicy::load`]), so the console runs the same check live as the operator types
//! ([`PasswordPolicy::summary`] gives the checklist). Every message is written for a person
//! and never contains the password or any part of it.
//!
//! The name rule follows Active Directory's complexity rule: the account name, and every part
//! of at least three characters of the account and display names (split on spaces, `.`, `-`,
//! `_`, `,`, `#` and tabs), must not appear in the password, ignoring case.

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::deny_list::DenyList;
use crate::directory::{Account, account_name};

/// What breaks a configured policy or stops it from loading.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read the password deny list {path}: {source}")]
    DenyList {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid password policy: {0}")]
    Invalid(String),
}

/// The four kinds of character the complexity rule counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CharClass {
    Lower,
    Upper,
    Digit,
    Symbol,
}

impl CharClass {
    pub const ALL: [CharClass; 4] = [
        CharClass::Lower,
        CharClass::Upper,
        CharClass::Digit,
        CharClass::Symbol,
    ];

    /// The class of `c`. Control characters have none; neither do letters without case
    /// (most CJK scripts), which count towards the length only.
    pub fn of(c: char) -> Option<CharClass> {
        if c.is_control() {
            None
        } else if c.is_lowercase() {
            Some(CharClass::Lower)
        } else if c.is_uppercase() {
            Some(CharClass::Upper)
        } else if c.is_numeric() {
            Some(CharClass::Digit)
        } else if c.is_alphabetic() {
            None
        } else {
            Some(CharClass::Symbol)
        }
    }

    /// "an upper-case letter": what a password missing this class needs.
    pub fn one(self) -> &'static str {
        match self {
            CharClass::Lower => "a lower-case letter",
            CharClass::Upper => "an upper-case letter",
            CharClass::Digit => "a digit",
            CharClass::Symbol => "a symbol",
        }
    }

    fn plural(self) -> &'static str {
        match self {
            CharClass::Lower => "lower-case letters",
            CharClass::Upper => "upper-case letters",
            CharClass::Digit => "digits",
            CharClass::Symbol => "symbols",
        }
    }
}

/// The names a password must not contain: the account's and the person's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountNames {
    /// `sam`, `DOMAIN\sam` or a UPN; the domain part of `DOMAIN\sam` is ignored.
    pub account: String,
    pub display_name: String,
}

impl AccountNames {
    pub fn new(account: impl Into<String>, display_name: impl Into<String>) -> AccountNames {
        AccountNames {
            account: account.into(),
            display_name: display_name.into(),
        }
    }

    pub fn of(account: &Account) -> AccountNames {
        AccountNames::new(&account.sam_name, &account.display_name)
    }

    /// The whole account name, lower-cased, when long enough to test (AD skips shorter ones).
    fn whole_account(&self) -> Option<String> {
        let name = account_name(&self.account).to_lowercase();
        (name.chars().count() >= 3).then_some(name)
    }

    /// Lower-cased parts of the account and display names of at least three characters.
    fn parts(&self) -> Vec<String> {
        let separators = [' ', '\t', '.', '-', '_', ',', '#'];
        let mut parts: Vec<String> = [account_name(&self.account), self.display_name.as_str()]
            .into_iter()
            .flat_map(|name| name.split(separators))
            .filter(|part| part.chars().count() >= 3)
            .map(str::to_lowercase)
            .collect();
        parts.sort();
        parts.dedup();
        parts
    }
}

/// Stable identifiers of the rules a password can break, for API clients and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViolationCode {
    TooShort,
    TooLong,
    TooFewClasses,
    MissingClass,
    ControlCharacter,
    ContainsAccountName,
    ContainsNamePart,
    Denied,
}

impl ViolationCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ViolationCode::TooShort => "too_short",
            ViolationCode::TooLong => "too_long",
            ViolationCode::TooFewClasses => "too_few_classes",
            ViolationCode::MissingClass => "missing_class",
            ViolationCode::ControlCharacter => "control_character",
            ViolationCode::ContainsAccountName => "contains_account_name",
            ViolationCode::ContainsNamePart => "contains_name_part",
            ViolationCode::Denied => "denied",
        }
    }
}

/// One rule a password breaks. `message` completes "The password …" and never quotes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    pub code: ViolationCode,
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// One line of the console's live checklist: a rule in positive words, and whether the
/// password typed so far meets it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleCheck {
    pub label: String,
    pub passed: bool,
}

/// A rough strength gauge for the console. Anything breaking a rule is `Weak`; otherwise it
/// grows with length and the variety of characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Strength {
    Weak,
    Fair,
    Strong,
}

/// Everything the console shows while the operator types a password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub checks: Vec<RuleCheck>,
    pub violations: Vec<Violation>,
    pub strength: Strength,
    /// Characters typed (Unicode scalar values), for a counter beside the field.
    pub length: usize,
}

impl Summary {
    pub fn acceptable(&self) -> bool {
        self.violations.is_empty()
    }
}

/// The policy, as written in the `[password_policy]` table of adapter.toml.
///
/// `min_classes` and `required_classes` both apply: the default asks for any 3 of the 4
/// classes; set `min_classes = 0` to require only the listed classes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub max_length: usize,
    /// How many of the four classes a password must use.
    pub min_classes: usize,
    /// Classes every password must contain.
    pub required_classes: Vec<CharClass>,
    /// Refuse passwords containing the account name or parts of the user's names.
    pub forbid_names: bool,
    /// A file of passwords nobody may use (see [`DenyList`]); read by [`PasswordPolicy::load`].
    pub deny_list: Option<PathBuf>,
    /// The deny list's words, filled by [`PasswordPolicy::load`] or
    /// [`PasswordPolicy::with_deny_list`]; not part of the file.
    #[serde(skip)]
    pub denied: Arc<DenyList>,
}

impl Default for PasswordPolicy {
    fn default() -> PasswordPolicy {
        PasswordPolicy {
            min_length: 12,
            max_length: 128,
            min_classes: 3,
            required_classes: Vec::new(),
            forbid_names: true,
            deny_list: None,
            denied: Arc::default(),
        }
    }
}

/// Rough search-space sizes per class, for the strength gauge only.
const CLASS_POOL: [(CharClass, f64); 4] = [
    (CharClass::Lower, 26.0),
    (CharClass::Upper, 26.0),
    (CharClass::Digit, 10.0),
    (CharClass::Symbol, 32.0),
];

/// Estimated bits at or above which a policy-conforming password counts as strong.
const STRONG_BITS: f64 = 80.0;

impl PasswordPolicy {
    /// Checks the settings and reads the deny list file, once. The result is ready for
    /// [`PasswordPolicy::check`], which never touches the disk.
    pub fn load(self) -> Result<PasswordPolicy, PolicyError> {
        self.validate()?;
        match &self.deny_list {
            Some(path) => {
                let list = DenyList::load(path)?;
                Ok(self.with_deny_list(list))
            }
            None => Ok(self),
        }
    }

    /// Uses `list` as the deny list (in place of any file).
    pub fn with_deny_list(mut self, list: DenyList) -> PasswordPolicy {
        self.denied = Arc::new(list);
        self
    }

    /// Settings no password could meet, or that make no sense, with what to change.
    pub fn validate(&self) -> Result<(), PolicyError> {
        let invalid = |m: String| Err(PolicyError::Invalid(m));
        if self.min_length == 0 {
            return invalid("min_length must be at least 1".into());
        }
        if self.max_length < self.min_length {
            return invalid(format!(
                "max_length ({}) is less than min_length ({})",
                self.max_length, self.min_length
            ));
        }
        if self.min_classes > CharClass::ALL.len() {
            return invalid(format!(
                "min_classes is {}, but there are only 4 classes (lower, upper, digit, symbol)",
                self.min_classes
            ));
        }
        if self.classes_needed() > self.max_length {
            return invalid(format!(
                "{} classes of character are required, but max_length is {}",
                self.classes_needed(),
                self.max_length
            ));
        }
        Ok(())
    }

    /// How many distinct classes every password needs at least.
    pub(crate) fn classes_needed(&self) -> usize {
        let mut required = self.required_classes.clone();
        required.sort();
        required.dedup();
        self.min_classes.max(required.len())
    }

    /// The rules `password` breaks; empty when it is acceptable.
    pub fn check(&self, password: &str, account: &AccountNames) -> Vec<Violation> {
        self.evaluate(password, account, false).1
    }

    /// The live checklist, the rules broken and a strength gauge.
    pub fn summary(&self, password: &str, account: &AccountNames) -> Summary {
        let length = password.chars().count();
        let (checks, violations) = self.evaluate(password, account, true);
        let strength = if violations.is_empty() {
            strength_of(password, length)
        } else {
            Strength::Weak
        };
        Summary {
            checks,
            violations,
            strength,
            length,
        }
    }

    /// Runs every rule; builds the checklist labels only when asked (the console), so the
    /// plain check allocates little.
    fn evaluate(
        &self,
        password: &str,
        account: &AccountNames,
        labels: bool,
    ) -> (Vec<RuleCheck>, Vec<Violation>) {
        let mut checks = Vec::new();
        let mut violations = Vec::new();
        let mut rule = |label: &dyn Fn() -> String, broken: Option<(ViolationCode, String)>| {
            if labels {
                checks.push(RuleCheck {
                    label: label(),
                    passed: broken.is_none(),
                });
            }
            if let Some((code, message)) = broken {
                violations.push(Violation { code, message });
            }
        };

        let length = password.chars().count();
        let (min, max) = (self.min_length, self.max_length);
        rule(
            &|| format!("{min} to {max} characters"),
            if length < min {
                Some((
                    ViolationCode::TooShort,
                    format!("needs at least {min} characters (has {length})"),
                ))
            } else if length > max {
                Some((
                    ViolationCode::TooLong,
                    format!("has too many characters: at most {max} (has {length})"),
                ))
            } else {
                None
            },
        );

        let used = classes_used(password);
        if self.min_classes > 0 {
            let kinds = CharClass::ALL.map(CharClass::plural).join(", ");
            let (need, has) = (self.min_classes, used.len());
            rule(
                &|| format!("{need} of 4 kinds: lower-case, upper-case, digits, symbols"),
                (has < need).then(|| {
                    (
                        ViolationCode::TooFewClasses,
                        format!(
                            "needs {need} different kinds of character out of {kinds} (has {has})"
                        ),
                    )
                }),
            );
        }
        let mut required = self.required_classes.clone();
        required.sort();
        required.dedup();
        for class in required {
            rule(
                &|| class.one().to_owned(),
                (!used.contains(&class)).then(|| {
                    (
                        ViolationCode::MissingClass,
                        format!("needs {}", class.one()),
                    )
                }),
            );
        }

        rule(
            &|| "no tabs, line breaks or other control characters".to_owned(),
            password.chars().any(char::is_control).then(|| {
                (
                    ViolationCode::ControlCharacter,
                    "contains a control character (such as a tab or a line break)".to_owned(),
                )
            }),
        );

        if self.forbid_names {
            rule(
                &|| "not the account name or parts of the user's name".to_owned(),
                self.name_violation(password, account),
            );
        }

        if !self.denied.is_empty() {
            rule(
                &|| "not a common password".to_owned(),
                self.denied.contains(password).then(|| {
                    (
                        ViolationCode::Denied,
                        "is on the list of common passwords".to_owned(),
                    )
                }),
            );
        }
        (checks, violations)
    }

    fn name_violation(
        &self,
        password: &str,
        account: &AccountNames,
    ) -> Option<(ViolationCode, String)> {
        if password.is_empty() {
            return None;
        }
        let lower = password.to_lowercase();
        if account
            .whole_account()
            .is_some_and(|name| lower.contains(&name))
        {
            return Some((
                ViolationCode::ContainsAccountName,
                "contains the account name".to_owned(),
            ));
        }
        // The part itself is not named: it would reveal a piece of the password.
        account
            .parts()
            .iter()
            .any(|part| lower.contains(part.as_str()))
            .then(|| {
                (
                    ViolationCode::ContainsNamePart,
                    "contains part of the user's name".to_owned(),
                )
            })
    }
}

/// The distinct classes used in `password`, in [`CharClass::ALL`] order.
pub(crate) fn classes_used(password: &str) -> Vec<CharClass> {
    let mut seen = [false; 4];
    for class in password.chars().filter_map(CharClass::of) {
        seen[class as usize] = true;
    }
    CharClass::ALL
        .into_iter()
        .filter(|c| seen[*c as usize])
        .collect()
}

fn strength_of(password: &str, length: usize) -> Strength {
    let used = classes_used(password);
    let pool: f64 = CLASS_POOL
        .iter()
        .filter(|(class, _)| used.contains(class))
        .map(|(_, size)| size)
        .sum();
    let bits = if pool > 1.0 {
        length as f64 * pool.log2()
    } else {
        0.0
    };
    if bits >= STRONG_BITS {
        Strength::Strong
    } else {
        Strength::Fair
    }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
