//! Parsing a filter line into terms: shell-like words with `"…"` quoting, a leading `!`, and
//! `field=value` / `field==value` / `field!=value`, with errors that say where and why.

use super::matcher::Needle;
use std::fmt;

/// Why a filter line was rejected. Positions are 0-based character indexes into the line, so
/// the UI can put a caret under the spot; the message counts from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterError {
    /// A `"` with no closing `"`.
    UnterminatedQuote { at: usize },
    /// A `!` with nothing after it.
    LoneBang { at: usize },
    /// `!!term`: one `!` inverts.
    DoubleBang { at: usize },
    /// `""` on its own: a term with no text.
    EmptyTerm { at: usize },
    /// `=value`, `==value` or `!=value` with no field before it.
    MissingField { at: usize },
    /// `field=` with nothing after it.
    EmptyValue { at: usize, field: String },
    /// No column is called `field` or starts with it.
    UnknownField {
        at: usize,
        field: String,
        columns: Vec<String>,
    },
    /// `field` is the start of several column names.
    AmbiguousField {
        at: usize,
        field: String,
        candidates: Vec<String>,
    },
}

impl FilterError {
    /// 0-based character index in the filter line where the problem is.
    pub fn position(&self) -> usize {
        match self {
            FilterError::UnterminatedQuote { at }
            | FilterError::LoneBang { at }
            | FilterError::DoubleBang { at }
            | FilterError::EmptyTerm { at }
            | FilterError::MissingField { at }
            | FilterError::EmptyValue { at, .. }
            | FilterError::UnknownField { at, .. }
            | FilterError::AmbiguousField { at, .. } => *at,
        }
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let col = self.position() + 1;
        match self {
            FilterError::UnterminatedQuote { .. } => {
                write!(f, "the quote at {col} is not closed: add a closing \"")
            }
            FilterError::LoneBang { .. } => write!(
                f,
                "`!` at {col} has nothing to invert: write it before a term, as in !idle"
            ),
            FilterError::DoubleBang { .. } => {
                write!(f, "`!!` at {col}: one `!` inverts a term")
            }
            FilterError::EmptyTerm { .. } => {
                write!(f, "empty quotes at {col}: nothing to search for")
            }
            FilterError::MissingField { .. } => write!(
                f,
                "no field name before `=` at {col}; to search for text with `=` in it, quote it"
            ),
            FilterError::EmptyValue { field, .. } => write!(
                f,
                "`{field}=` at {col} has no value; for empty cells write {field}==\"\""
            ),
            FilterError::UnknownField { field, columns, .. } => write!(
                f,
                "unknown field `{field}` at {col}; fields: {}",
                columns.join(", ")
            ),
            FilterError::AmbiguousField {
                field, candidates, ..
            } => write!(
                f,
                "field `{field}` at {col} could be {}; type more of it",
                candidates.join(" or ")
            ),
        }
    }
}

impl std::error::Error for FilterError {}

/// How a field term compares its column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FieldOp {
    Contains,
    Exact,
}

/// What one term tests, before `!` is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Test {
    /// Substring of any cell; failing that, a fuzzy match within one cell if `fuzzy`.
    Any { needle: Needle, fuzzy: bool },
    Field {
        column: usize,
        op: FieldOp,
        needle: Needle,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Term {
    pub(super) negated: bool,
    pub(super) test: Test,
}

/// Shortest plain term that also matches fuzzily: a subsequence of one or two letters is in
/// nearly every row, so shorter terms are substring-only.
const FUZZY_MIN_CHARS: usize = 3;

/// One character of a word, remembering whether it was inside quotes (quoted `=` and `!` are
/// text, not syntax) and where it was typed.
#[derive(Debug, Clone, Copy)]
struct Ch {
    c: char,
    quoted: bool,
    at: usize,
}

/// A whitespace-separated word; `at` is where it starts, `quotes` where its quoted parts
/// open (an empty `""` leaves no chars, only this).
struct Word {
    at: usize,
    chars: Vec<Ch>,
    quotes: Vec<usize>,
}

impl Word {
    fn new(at: usize) -> Word {
        Word {
            at,
            chars: Vec::new(),
            quotes: Vec::new(),
        }
    }
}

pub(super) fn parse_terms(input: &str, columns: &[&str]) -> Result<Vec<Term>, FilterError> {
    words(input)?
        .into_iter()
        .map(|w| term(&w, columns))
        .collect()
}

/// Splits on unquoted whitespace. Inside quotes, `\"` is a quote and `\\` a backslash; any
/// other backslash is itself, so `"CORP\jsmith"` needs no doubling.
fn words(input: &str) -> Result<Vec<Word>, FilterError> {
    let mut out = Vec::new();
    let mut current: Option<Word> = None;
    let mut open_quote: Option<usize> = None;
    let mut chars = input.chars().enumerate().peekable();
    while let Some((at, c)) = chars.next() {
        if let Some(quote_at) = open_quote {
            let word = current.get_or_insert_with(|| Word::new(quote_at));
            match c {
                '"' => open_quote = None,
                '\\' if matches!(chars.peek(), Some((_, '"' | '\\'))) => {
                    if let Some((at, escaped)) = chars.next() {
                        word.chars.push(Ch {
                            c: escaped,
                            quoted: true,
                            at,
                        });
                    }
                }
                _ => word.chars.push(Ch {
                    c,
                    quoted: true,
                    at,
                }),
            }
            continue;
        }
        if c.is_whitespace() {
            out.extend(current.take());
        } else if c == '"' {
            open_quote = Some(at);
            current.get_or_insert_with(|| Word::new(at)).quotes.push(at);
        } else {
            let word = current.get_or_insert_with(|| Word::new(at));
            word.chars.push(Ch {
                c,
                quoted: false,
                at,
            });
        }
    }
    if let Some(at) = open_quote {
        return Err(FilterError::UnterminatedQuote { at });
    }
    out.extend(current);
    Ok(out)
}

fn is_syntax(ch: Option<&Ch>, c: char) -> bool {
    ch.is_some_and(|ch| ch.c == c && !ch.quoted)
}

fn term(word: &Word, columns: &[&str]) -> Result<Term, FilterError> {
    let mut chars = &word.chars[..];
    let mut negated = false;
    if is_syntax(chars.first(), '!') {
        negated = true;
        chars = &chars[1..];
        if chars.is_empty() {
            return Err(if word.quotes.is_empty() {
                FilterError::LoneBang { at: word.at }
            } else {
                FilterError::EmptyTerm { at: word.at }
            });
        }
        if is_syntax(chars.first(), '!') {
            return Err(FilterError::DoubleBang { at: word.at });
        }
    }
    let Some(eq) = chars.iter().position(|ch| ch.c == '=' && !ch.quoted) else {
        if chars.is_empty() {
            return Err(FilterError::EmptyTerm { at: word.at });
        }
        let text: String = chars.iter().map(|ch| ch.c).collect();
        let quoted = chars.iter().any(|ch| ch.quoted);
        let fuzzy = !quoted && text.chars().count() >= FUZZY_MIN_CHARS;
        return Ok(Term {
            negated,
            test: Test::Any {
                needle: Needle::new(&text),
                fuzzy,
            },
        });
    };

    let mut field = &chars[..eq];
    let mut value = &chars[eq + 1..];
    let mut op_end = chars[eq].at;
    let op = if is_syntax(field.last(), '!') {
        field = &field[..field.len() - 1];
        negated = !negated;
        FieldOp::Exact
    } else if let Some(second) = value.first().filter(|ch| ch.c == '=' && !ch.quoted) {
        op_end = second.at;
        value = &value[1..];
        FieldOp::Exact
    } else {
        FieldOp::Contains
    };
    let field_at = field.first().map_or(chars[eq].at, |ch| ch.at);
    if field.is_empty() {
        return Err(FilterError::MissingField { at: chars[eq].at });
    }
    let field: String = field
        .iter()
        .map(|ch| ch.c)
        .collect::<String>()
        .to_lowercase();
    let column = resolve(&field, field_at, columns)?;
    // `""` is an explicit empty value: `==""` finds empty cells, `!=""` non-empty ones.
    let explicit_empty = word.quotes.iter().any(|&q| q > op_end);
    if value.is_empty() && !(explicit_empty && op == FieldOp::Exact) {
        return Err(FilterError::EmptyValue { at: word.at, field });
    }
    let value: String = value.iter().map(|ch| ch.c).collect();
    Ok(Term {
        negated,
        test: Test::Field {
            column,
            op,
            needle: Needle::new(&value),
        },
    })
}

/// The column `field` names: an exact name, else the one column it is a prefix of.
fn resolve(field: &str, at: usize, columns: &[&str]) -> Result<usize, FilterError> {
    if let Some(i) = columns.iter().position(|c| c.eq_ignore_ascii_case(field)) {
        return Ok(i);
    }
    let starts: Vec<usize> = columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.to_lowercase().starts_with(field))
        .map(|(i, _)| i)
        .collect();
    match starts[..] {
        [one] => Ok(one),
        [] => Err(FilterError::UnknownField {
            at,
            field: field.to_string(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
        }),
        _ => Err(FilterError::AmbiguousField {
            at,
            field: field.to_string(),
            candidates: starts.iter().map(|&i| columns[i].to_string()).collect(),
        }),
    }
}
