//! The lab domain's password and lockout policy, checked the way Active Directory checks it:
//! minimum length, three of four character classes, no account name or display-name token in
//! the password, a history for self-service changes, lockout after a number of bad passwords.
//!
//! Refusals are worded as AD words them (the `0000052D` constraint violation that Samba and
//! Windows report), with the rule that failed and never the password itself.

/// The `0000052D` text AD puts before every password-restriction refusal.
pub const CONSTRAINT_VIOLATION: &str =
    "0000052D: Constraint violation - check_password_restrictions";

/// The .NET message a Windows service gets for the same refusal (`ERROR_PASSWORD_RESTRICTION`),
/// which is what the CVAD Identity service passes on.
pub const PASSWORD_RESTRICTION: &str = "The password does not meet the password policy requirements. \
     Check the minimum password length, password complexity and password history requirements. \
     (Exception from HRESULT: 0x800708C5)";

/// Default Domain Policy of the lab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub min_length: usize,
    /// Bad passwords in a row that lock the account; 0 disables lockout.
    pub lockout_threshold: u32,
    /// `maxPwdAge`.
    pub max_age_days: i64,
    /// Passwords remembered for self-service changes (admin resets skip history, as in AD).
    pub history: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            min_length: 8,
            lockout_threshold: 5,
            max_age_days: 90,
            history: 24,
        }
    }
}

impl Policy {
    /// Why `password` is refused for the account `sam` / `display_name`, or `Ok`. The reason
    /// is Samba's wording after the `0000052D` prefix; it names the rule, never the password.
    pub fn check(&self, password: &str, sam: &str, display_name: &str) -> Result<(), String> {
        let length = password.chars().count();
        if length < self.min_length {
            return Err(format!(
                "{CONSTRAINT_VIOLATION}: the password is too short. It should be equal or longer \
                 than {} characters!",
                self.min_length
            ));
        }
        let classes = [
            password.chars().any(|c| c.is_uppercase()),
            password.chars().any(|c| c.is_lowercase()),
            password.chars().any(|c| c.is_ascii_digit()),
            password.chars().any(|c| !c.is_alphanumeric()),
        ];
        if classes.iter().filter(|present| **present).count() < 3 {
            return Err(format!(
                "{CONSTRAINT_VIOLATION}: the password does not meet the complexity criteria! It \
                 needs characters from three of: upper case, lower case, digits, symbols"
            ));
        }
        let lower = password.to_lowercase();
        if sam.chars().count() >= 3 && lower.contains(&sam.to_lowercase()) {
            return Err(format!(
                "{CONSTRAINT_VIOLATION}: the password does not meet the complexity criteria! It \
                 contains the account name"
            ));
        }
        // AD splits the display name at these delimiters and refuses any token of three or
        // more characters that appears in the password.
        let delimiters = [',', '.', '-', '_', '#', '\t', ' '];
        let token_found = display_name
            .split(|c| delimiters.contains(&c))
            .filter(|t| t.chars().count() >= 3)
            .any(|t| lower.contains(&t.to_lowercase()));
        if token_found {
            return Err(format!(
                "{CONSTRAINT_VIOLATION}: the password does not meet the complexity criteria! It \
                 contains part of the user's full name"
            ));
        }
        Ok(())
    }

    /// The refusal when a self-service change reuses a remembered password.
    pub fn history_refusal() -> String {
        format!("{CONSTRAINT_VIOLATION}: the password was already used (in history)!")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(password: &str) -> Result<(), String> {
        Policy::default().check(password, "alice.smith", "Alice Smith")
    }

    #[test]
    fn strong_passwords_pass() {
        assert_eq!(check("Correct-Horse7"), Ok(()));
        assert_eq!(check("blue#Sky42x"), Ok(()));
        // Three classes without symbols are enough.
        assert_eq!(check("Winter2027Q"), Ok(()));
    }

    #[test]
    fn short_passwords_are_refused_with_the_rule_not_the_password() {
        let err = check("Ab1!x").expect_err("too short");
        assert!(err.starts_with("0000052D"), "{err}");
        assert!(err.contains("too short") && err.contains('8'), "{err}");
        assert!(!err.contains("Ab1!x"));
    }

    #[test]
    fn two_classes_are_not_enough() {
        let err = check("alllowercase99").expect_err("two classes");
        assert!(err.contains("complexity"), "{err}");
        assert!(
            check("ALLUPPER&&&&").is_err(),
            "upper case and symbols are only two"
        );
    }

    #[test]
    fn the_account_name_and_name_tokens_are_refused_in_any_case() {
        let err = check("xAlice.Smith9!").expect_err("contains the sam");
        assert!(err.contains("account name"), "{err}");
        let err = check("Smith-Rules-2027").expect_err("contains a display-name token");
        assert!(err.contains("full name"), "{err}");
        // Tokens shorter than three characters do not count.
        let short = Policy::default().check("Bo-Rules-2027!", "bo.li", "Bo Li");
        assert_eq!(short, Ok(()));
    }
}
