//! A report request: the report's name and its parameters, parsed and checked, with errors
//! that name the parameter and say what would be accepted.

use std::collections::BTreeMap;

use chrono::Duration;

use super::{CATALOG, info};

/// The longest `since` window accepted.
pub const MAX_SINCE_DAYS: i64 = 366;

/// Why a report cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("no report named {name:?}; the reports are: {known}")]
    UnknownReport { name: String, known: String },
    #[error("{0}")]
    BadParameter(String),
}

/// The width of a `jobs` time bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Hour,
    Day,
}

impl Bucket {
    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::Hour => "hour",
            Bucket::Day => "day",
        }
    }

    pub fn width(self) -> Duration {
        match self {
            Bucket::Hour => Duration::hours(1),
            Bucket::Day => Duration::days(1),
        }
    }
}

/// A checked request for one report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `site`: the configured name as the config spells it.
    Resources {
        site: Option<String>,
    },
    Tickets,
    /// `since_text` as given (`24h`), for the report's parameters.
    Jobs {
        since: Duration,
        since_text: String,
        by: Bucket,
    },
}

impl Request {
    /// Parses `name` and its query parameters. `sites` are the configured site names, for
    /// checking `site=`.
    pub fn parse(
        name: &str,
        params: &BTreeMap<String, String>,
        sites: &[&str],
    ) -> Result<Request, ReportError> {
        let Some(info) = info(name) else {
            return Err(ReportError::UnknownReport {
                name: name.to_owned(),
                known: CATALOG
                    .iter()
                    .map(|r| r.name)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        for key in params.keys() {
            if !info.parameters.iter().any(|p| p.name == key) {
                let takes = if info.parameters.is_empty() {
                    "no parameters".to_owned()
                } else {
                    let names: Vec<&str> = info.parameters.iter().map(|p| p.name).collect();
                    format!("only {}", names.join(", "))
                };
                return Err(ReportError::BadParameter(format!(
                    "the {name} report takes {takes}, not {key:?}"
                )));
            }
        }
        let given = |key: &str| params.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
        match info.name {
            "resources" => {
                let site = match given("site") {
                    None => None,
                    Some(site) => Some(
                        sites
                            .iter()
                            .find(|s| s.eq_ignore_ascii_case(site))
                            .map(|s| (*s).to_owned())
                            .ok_or_else(|| {
                                ReportError::BadParameter(format!(
                                    "site={site:?} is not a configured site; the sites are: {}",
                                    sites.join(", ")
                                ))
                            })?,
                    ),
                };
                Ok(Request::Resources { site })
            }
            "tickets" => Ok(Request::Tickets),
            _ => {
                let since_text = given("since").unwrap_or("24h").to_owned();
                let since = parse_since(&since_text)?;
                let by = match given("by").unwrap_or("hour") {
                    b if b.eq_ignore_ascii_case("hour") => Bucket::Hour,
                    b if b.eq_ignore_ascii_case("day") => Bucket::Day,
                    other => {
                        return Err(ReportError::BadParameter(format!(
                            "by={other:?} is not a bucket width; use hour or day"
                        )));
                    }
                };
                Ok(Request::Jobs {
                    since,
                    since_text,
                    by,
                })
            }
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Request::Resources { .. } => "resources",
            Request::Tickets => "tickets",
            Request::Jobs { .. } => "jobs",
        }
    }
}

/// `90m`, `24h`, `7d`, `2w`: a whole positive number and a unit, at most
/// [`MAX_SINCE_DAYS`] days.
pub fn parse_since(text: &str) -> Result<Duration, ReportError> {
    let bad = |why: &str| {
        ReportError::BadParameter(format!(
            "since={text:?} {why}; use a whole number and a unit m, h, d or w, such as 90m, \
             24h or 7d (at most {MAX_SINCE_DAYS}d)"
        ))
    };
    let text_trim = text.trim();
    let split = text_trim
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| bad("has no unit"))?;
    let (number, unit) = text_trim.split_at(split);
    let n: i64 = number
        .parse()
        .map_err(|_| bad("does not start with a number"))?;
    if n == 0 {
        return Err(bad("is empty"));
    }
    let minutes = match unit.to_ascii_lowercase().as_str() {
        "m" | "min" => n,
        "h" => n.saturating_mul(60),
        "d" => n.saturating_mul(24 * 60),
        "w" => n.saturating_mul(7 * 24 * 60),
        _ => return Err(bad("has an unknown unit")),
    };
    if minutes > MAX_SINCE_DAYS * 24 * 60 {
        return Err(bad("is too long"));
    }
    Ok(Duration::minutes(minutes))
}
