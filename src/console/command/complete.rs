//! Tab completion for the `:` line (command names, then site, queue or theme names supplied
//! by the caller) and "did you mean" suggestions for mistyped names.

use super::spec::{Arg, COMMANDS, resolve};

/// The names completion and validation draw on besides the commands themselves. The console
/// keeps one and updates it as sites load; an empty list accepts any name as typed (the site
/// list may not have arrived yet) and offers no completions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completions {
    pub sites: Vec<String>,
    pub themes: Vec<String>,
    pub queues: Vec<String>,
}

impl Completions {
    /// The ticket queues every adapter has.
    pub const DEFAULT_QUEUES: [&'static str; 3] = ["mine", "unassigned", "all"];
}

impl Default for Completions {
    fn default() -> Completions {
        Completions {
            sites: Vec::new(),
            themes: Vec::new(),
            queues: Completions::DEFAULT_QUEUES.map(String::from).to_vec(),
        }
    }
}

/// What Tab can put in place of the word before the cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// Byte offset where the replaced word starts (everything after the command name, for
    /// arguments, since site names may hold spaces).
    pub start: usize,
    /// Full replacements for the word, in table or list order.
    pub candidates: Vec<String>,
    /// The longest start the candidates share (ignoring case): what a first Tab inserts.
    pub common: String,
    /// Completing a command name that takes an argument: a unique completion adds a space.
    pub(super) wants_argument: bool,
}

/// Completions for `line`, the text before the cursor (without the `:` prompt).
pub fn complete(line: &str, source: &Completions) -> Completion {
    let body_start = line.len() - line.trim_start().len();
    let body_start = body_start + usize::from(line[body_start..].starts_with(':'));
    let body = &line[body_start..];
    let Some(space) = body.find(char::is_whitespace) else {
        let typed = body.to_lowercase();
        let matching: Vec<_> = COMMANDS
            .iter()
            .filter(|s| s.name().starts_with(&typed))
            .collect();
        let wants_argument = matching.len() == 1 && matching[0].arg != Arg::None;
        return completion(
            body_start,
            matching.iter().map(|s| s.name().to_string()).collect(),
            wants_argument,
        );
    };
    let arg_offset = body[space..].len() - body[space..].trim_start().len();
    let start = body_start + space + arg_offset;
    let typed = &line[start..];
    let names: &[String] = match resolve(&body[..space]).map(|s| s.arg) {
        Ok(Arg::Site) => &source.sites,
        Ok(Arg::Queue) => &source.queues,
        Ok(Arg::Theme) => &source.themes,
        Ok(Arg::None) | Err(_) => &[],
    };
    completion(start, matching_names(typed, names), false)
}

/// Names starting with `typed`, or, when none does, containing it (both ignoring case).
fn matching_names(typed: &str, names: &[String]) -> Vec<String> {
    let typed = typed.to_lowercase();
    let prefixed: Vec<String> = names
        .iter()
        .filter(|n| n.to_lowercase().starts_with(&typed))
        .cloned()
        .collect();
    if !prefixed.is_empty() {
        return prefixed;
    }
    names
        .iter()
        .filter(|n| n.to_lowercase().contains(&typed))
        .cloned()
        .collect()
}

fn completion(start: usize, candidates: Vec<String>, wants_argument: bool) -> Completion {
    Completion {
        start,
        common: common_prefix(&candidates),
        candidates,
        wants_argument,
    }
}

/// The longest start of every candidate, compared ignoring case, spelled as the first one.
fn common_prefix(candidates: &[String]) -> String {
    let Some((first, rest)) = candidates.split_first() else {
        return String::new();
    };
    let shared = rest.iter().fold(first.chars().count(), |shared, other| {
        first
            .chars()
            .zip(other.chars())
            .take(shared)
            .take_while(|(a, b)| a.to_lowercase().eq(b.to_lowercase()))
            .count()
    });
    let end = first
        .char_indices()
        .nth(shared)
        .map_or(first.len(), |(at, _)| at);
    first[..end].to_string()
}

/// The canonical name of the spelling closest to `typed`, if it is close enough to be a typo:
/// one edit for short words, two from five characters on (a swap of neighbours is one edit).
pub(super) fn suggest<'a>(
    typed: &str,
    spellings: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Option<String> {
    let typed = typed.to_lowercase();
    let limit = if typed.chars().count() >= 5 { 2 } else { 1 };
    spellings
        .into_iter()
        .map(|(spelling, canonical)| (distance(&typed, &spelling.to_lowercase()), canonical))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, canonical)| canonical.to_string())
}

/// Edit distance with adjacent transpositions (optimal string alignment).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for (i, row) in d.chunks_mut(width).enumerate() {
        row[0] = i;
    }
    for (j, cell) in d.iter_mut().take(width).enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn distance_counts_swaps_as_one_edit() {
        assert_eq!(distance("sessions", "sessions"), 0);
        assert_eq!(distance("sesions", "sessions"), 1);
        assert_eq!(distance("tickest", "tickets"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("zürich", "zurich"), 1);
    }

    #[test]
    fn common_prefix_ignores_case_and_respects_char_boundaries() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(common_prefix(&names(&["London-1", "london-2"])), "London-");
        assert_eq!(common_prefix(&names(&["Zürich", "Zug"])), "Z");
        assert_eq!(common_prefix(&names(&["é", "e"])), "");
        assert_eq!(common_prefix(&[]), "");
    }
}
