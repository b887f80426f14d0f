//! A checker of the Prometheus text exposition format 0.0.4 for the tests, and the scrape it
//! parses: strict enough that a line Prometheus would refuse fails the test that scraped it.

use std::collections::BTreeMap;

/// One scrape: each sample's value by its name and labels as written (`name{a="b"}`).
pub struct Scrape {
    pub text: String,
    samples: BTreeMap<String, f64>,
}

impl Scrape {
    pub fn value(&self, series: &str) -> Option<f64> {
        self.samples.get(series).copied()
    }

    /// The value of a series that must be there.
    pub fn get(&self, series: &str) -> f64 {
        match self.value(series) {
            Some(v) => v,
            None => panic!("{series} is missing from the scrape:\n{}", self.text),
        }
    }

    /// Sum over every series of `name` whose labels contain all of `labels`.
    pub fn sum(&self, name: &str, labels: &[&str]) -> f64 {
        self.samples
            .iter()
            .filter(|(series, _)| {
                series
                    .strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with('{') || rest.is_empty())
                    && labels.iter().all(|l| series.contains(l))
            })
            .map(|(_, v)| v)
            .sum()
    }
}

/// Parses and checks the text exposition format 0.0.4, as Prometheus reads it: every line is a
/// `# HELP`, a `# TYPE` or a sample; a family's HELP and TYPE come once, before its samples; a
/// sample belongs to the family last typed (a histogram's through `_bucket`, `_sum`, `_count`);
/// label values are quoted and escaped; values are numbers; histogram buckets never decrease
/// and the `+Inf` bucket equals `_count`. Panics with the offending line otherwise.
pub fn parse_exposition(text: &str) -> Scrape {
    let mut samples = BTreeMap::new();
    let mut helped: Vec<String> = Vec::new();
    let mut typed: BTreeMap<String, String> = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    let mut last_bucket: BTreeMap<String, f64> = BTreeMap::new();
    assert!(text.ends_with('\n'), "the text must end with a newline");
    for (n, line) in text.lines().enumerate() {
        let bad = |why: &str| -> ! { panic!("line {}: {why}: {line:?}", n + 1) };
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest
                .split_once(' ')
                .unwrap_or_else(|| bad("HELP without text"));
            if !valid_name(name) || help.trim().is_empty() || helped.iter().any(|h| h == name) {
                bad("bad or repeated HELP");
            }
            helped.push(name.to_owned());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest
                .split_once(' ')
                .unwrap_or_else(|| bad("TYPE without type"));
            let known = ["counter", "gauge", "histogram", "summary", "untyped"];
            if !valid_name(name) || !known.contains(&kind) || typed.contains_key(name) {
                bad("bad or repeated TYPE");
            }
            if !helped.iter().any(|h| h == name) {
                bad("TYPE before its HELP");
            }
            typed.insert(name.to_owned(), kind.to_owned());
            current = Some((name.to_owned(), kind.to_owned()));
        } else if line.starts_with('#') || line.trim().is_empty() {
            bad("a comment or blank line the format does not use here");
        } else {
            let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| bad("no value"));
            let value: f64 = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                v => v.parse().unwrap_or_else(|_| bad("value is not a number")),
            };
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (
                    name,
                    rest.strip_suffix('}')
                        .unwrap_or_else(|| bad("unclosed labels")),
                ),
                None => (series, ""),
            };
            if !valid_name(name) {
                bad("bad metric name");
            }
            let pairs = parse_labels(labels).unwrap_or_else(|why| bad(&why));
            let Some((family, kind)) = &current else {
                bad("sample before any TYPE");
            };
            let suffix = name.strip_prefix(family.as_str()).unwrap_or_else(|| {
                bad("sample outside the family last typed");
            });
            match (kind.as_str(), suffix) {
                ("histogram", "_bucket") => {
                    let le = pairs
                        .iter()
                        .find(|(k, _)| k == "le")
                        .unwrap_or_else(|| bad("bucket without le"));
                    let others = without_le(series, &le.1);
                    if let Some(previous) = last_bucket.get(&others)
                        && value < *previous
                    {
                        bad("bucket counts decrease");
                    }
                    last_bucket.insert(others, value);
                }
                ("histogram", "_count") => {
                    let bucket = series.replacen("_count", "_bucket", 1);
                    if last_bucket.get(&bucket) != Some(&value) {
                        bad("_count differs from the +Inf bucket");
                    }
                }
                ("histogram", "_sum") | (_, "") => {}
                _ => bad("suffix that the family's type does not have"),
            }
            if samples.insert(series.to_owned(), value).is_some() {
                bad("repeated series");
            }
        }
    }
    Scrape {
        text: text.to_owned(),
        samples,
    }
}

/// A bucket's series without its `le` label: the key its histogram's `_count` is matched by.
fn without_le(series: &str, le: &str) -> String {
    let with_comma = format!(",le=\"{le}\"");
    let alone = format!("le=\"{le}\"");
    let rest = if series.contains(&with_comma) {
        series.replace(&with_comma, "")
    } else {
        series.replace(&alone, "")
    };
    rest.replace("{}", "")
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `a="x",b="y\"z"` into pairs, checking names, quotes and escapes.
fn parse_labels(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"").ok_or("label without =\"")?;
        if !valid_name(name) || name.contains(':') {
            return Err(format!("bad label name {name:?}"));
        }
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c @ ('\\' | '"'))) => value.push(c),
                    _ => return Err("bad escape in a label value".into()),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => return Err("unterminated label value".into()),
            }
        };
        pairs.push((name.to_owned(), value));
        rest = &after[end + 1..];
        rest = match rest.strip_prefix(',') {
            Some(r) if !r.is_empty() => r,
            Some(_) => return Err("trailing comma".into()),
            None if rest.is_empty() => rest,
            None => return Err("labels not separated by commas".into()),
        };
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checker_refuses_what_prometheus_would_refuse() {
        let good = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 2\n";
        assert_eq!(parse_exposition(good).get(r#"a_total{x="1"}"#), 2.0);
        for (why, bad) in [
            ("no TYPE", "a_total 1\n"),
            ("unquoted label", "# HELP a A.\n# TYPE a gauge\na{x=1} 2\n"),
            ("not a number", "# HELP a A.\n# TYPE a gauge\na two\n"),
            ("another family", "# HELP a A.\n# TYPE a gauge\nb 1\n"),
            (
                "count differs from +Inf",
                "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 3\n",
            ),
        ] {
            let result = std::panic::catch_unwind(|| parse_exposition(bad));
            assert!(result.is_err(), "accepted ({why}): {bad:?}");
        }
    }
}
