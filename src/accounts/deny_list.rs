//! The list of passwords nobody may choose (common passwords, the company's name, the
//! season…), read once from a file and matched case-insensitively.
//!
//! File format: one password per line; blank lines and lines starting with `#` are ignored;
//! surrounding whitespace is trimmed. A candidate matches when, lower-cased, it equals an
//! entry, or equals one once its trailing digits and symbols are stripped — the usual way
//! people dress a listed word up to pass the class rules ("Summer2026!" → "summer").

use std::collections::HashSet;
use std::path::Path;

use super::policy::PolicyError;

/// A loaded deny list. Cheap to query: one or two set lookups per check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DenyList {
    entries: HashSet<String>,
}

impl DenyList {
    /// Reads the file at `path`. A missing or unreadable file is an error naming the path: a
    /// configured deny list that silently does nothing would weaken every reset.
    pub fn load(path: &Path) -> Result<DenyList, PolicyError> {
        let bytes = std::fs::read(path).map_err(|source| PolicyError::DenyList {
            path: path.display().to_string(),
            source,
        })?;
        // Lists downloaded from the internet are not always clean UTF-8; a stray byte should
        // not make the whole list unusable.
        Ok(DenyList::parse(&String::from_utf8_lossy(&bytes)))
    }

    /// Parses the file format from text (for lists built in, or in tests).
    pub fn parse(text: &str) -> DenyList {
        let entries = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(str::to_lowercase)
            .collect();
        DenyList { entries }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `password` is on the list, as it is or without its trailing digits and
    /// symbols, ignoring case.
    pub fn contains(&self, password: &str) -> bool {
        if self.entries.is_empty() || password.is_empty() {
            return false;
        }
        let lower = password.to_lowercase();
        if self.entries.contains(&lower) {
            return true;
        }
        let base = lower.trim_end_matches(|c: char| !c.is_alphabetic());
        !base.is_empty() && base.len() < lower.len() && self.entries.contains(base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = "# common passwords\n\npassword\n  Summer  \nletmein\n123456\nwinter#1\n";

    #[test]
    fn comments_and_blank_lines_are_ignored() {
        let list = DenyList::parse(LIST);
        assert_eq!(list.len(), 5);
        assert!(!list.contains("# common passwords"));
        assert!(!list.contains(""));
    }

    #[test]
    fn matches_ignore_case_and_surrounding_whitespace_in_the_file() {
        let list = DenyList::parse(LIST);
        assert!(list.contains("PASSWORD"));
        assert!(list.contains("summer"));
        assert!(list.contains("123456"));
        assert!(
            list.contains("Winter#1"),
            "a # inside an entry is part of it"
        );
    }

    #[test]
    fn trailing_digits_and_symbols_do_not_hide_a_listed_word() {
        let list = DenyList::parse(LIST);
        assert!(list.contains("Summer2026!"));
        assert!(list.contains("LetMeIn!!1"));
        assert!(
            !list.contains("2026Summer!"),
            "only trailing decoration is stripped"
        );
        assert!(!list.contains("Summertime1"));
        assert!(!list.contains("!!!"));
    }

    #[test]
    fn unicode_entries_match_case_insensitively() {
        let list = DenyList::parse("Straße\nÉTÉ\n");
        assert!(list.contains("STRAẞE"), "capital sharp s lower-cases to ß");
        assert!(list.contains("été2026"));
    }

    #[test]
    fn a_missing_file_names_its_path() {
        let path = std::env::temp_dir().join("deskbridge-no-such-deny-list.txt");
        let err = DenyList::load(&path).expect_err("missing file must fail");
        assert!(
            err.to_string().contains("deskbridge-no-such-deny-list.txt"),
            "{err}"
        );
    }

    #[test]
    fn a_file_is_loaded_once_into_a_set() {
        let path =
            std::env::temp_dir().join(format!("deskbridge-deny-{}.txt", uuid::Uuid::new_v4()));
        std::fs::write(&path, b"# list\nhunter2\nqwerty\xff\n").expect("write deny list");
        let list = DenyList::load(&path).expect("load deny list");
        let _ = std::fs::remove_file(&path);
        assert_eq!(list.len(), 2);
        assert!(list.contains("Hunter2"));
        assert!(!list.contains("hunter3"));
    }
}
