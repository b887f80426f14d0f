//! Config errors and warnings as `FILE:LINE:COL: key PATH: message`, and the collector that
//! gathers them while the file is checked.

use std::fmt;
use std::ops::Range;

/// One problem found in a config file, located by line, column and key path.
///
/// The message says what is wrong and how to fix it. It never contains a secret value: the
/// loader builds every message from key names, env var names and paths only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file as it was named to the loader (`adapter.toml`, `/etc/deskbridge/adapter.toml`).
    pub file: String,
    /// 1-based line and column (in characters), when the problem has a place in the file.
    pub position: Option<(usize, usize)>,
    /// Dotted key path with array indexes from 0, e.g. `sites[1].endpoints`.
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some((line, column)) = self.position {
            write!(f, ":{line}:{column}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": key {key}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every error found in a config file; `Display` prints one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<Diagnostic>);

impl ConfigErrors {
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Turns byte offsets into 1-based line and column numbers.
pub(super) struct LineIndex {
    /// Byte offset at which each line starts.
    starts: Vec<usize>,
}

impl LineIndex {
    pub(super) fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// Line and column of byte `offset` in `text`; the column counts characters, not bytes.
    pub(super) fn position(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        // An offset inside a multi-byte character counts as that character.
        let column = text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line, column + 1)
    }
}

/// Gathers errors and warnings while one file is checked.
pub(crate) struct Collector<'a> {
    file: &'a str,
    text: &'a str,
    lines: LineIndex,
    pub(crate) errors: Vec<Diagnostic>,
    pub(crate) warnings: Vec<Diagnostic>,
}

impl<'a> Collector<'a> {
    pub(crate) fn new(file: &'a str, text: &'a str) -> Self {
        Collector {
            file,
            text,
            lines: LineIndex::new(text),
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// A diagnostic at `span` (a byte range of the file), or with no position when `None`.
    pub(crate) fn diagnostic(
        &self,
        span: Option<Range<usize>>,
        key: Option<String>,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            file: self.file.to_string(),
            position: span.map(|s| self.lines.position(self.text, s.start)),
            key,
            message: message.into(),
        }
    }

    pub(crate) fn error(&mut self, span: Range<usize>, key: &str, message: impl Into<String>) {
        let d = self.diagnostic(Some(span), Some(key.to_string()), message);
        self.errors.push(d);
    }

    /// An error about something absent from the whole file (no place to point at).
    pub(crate) fn error_nowhere(&mut self, key: &str, message: impl Into<String>) {
        let d = self.diagnostic(None, Some(key.to_string()), message);
        self.errors.push(d);
    }

    pub(crate) fn warn(&mut self, span: Range<usize>, key: &str, message: impl Into<String>) {
        let d = self.diagnostic(Some(span), Some(key.to_string()), message);
        self.warnings.push(d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let text = "a = 1\nnäme = \"x\"\n";
        let index = LineIndex::new(text);
        assert_eq!(index.position(text, 0), (1, 1));
        assert_eq!(index.position(text, 6), (2, 1));
        // "ä" is two bytes; the `=` after "näme " is the 6th character of line 2.
        let eq = text.find("= \"x").unwrap_or(0);
        assert_eq!(index.position(text, eq), (2, 6));
        assert_eq!(index.position(text, text.len()), (3, 1));
    }

    #[test]
    fn display_has_file_line_column_key_and_message() {
        let d = Diagnostic {
            file: "adapter.toml".into(),
            position: Some((3, 7)),
            key: Some("sites[1].endpoints".into()),
            message: "no endpoints".into(),
        };
        assert_eq!(
            d.to_string(),
            "adapter.toml:3:7: key sites[1].endpoints: no endpoints"
        );
    }
}
