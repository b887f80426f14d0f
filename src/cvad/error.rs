//! Errors of the CVAD client: each one names the site and says what a person can do about it.
//!
//! The API's own error bodies (`{type, detail, parameters}`, lower-case keys) are decoded into
//! [`CvadError::Api`]; transport problems become [`CvadError::Unreachable`] or
//! [`CvadError::Timeout`]; job failures keep the job's own message and add a hint when the
//! message is one of the known connector-outage strings.

use super::wire::{ErrorBody, JobStatus};
use std::time::Duration;

/// The prefix of every CVAD error type; stripped so messages show `common/notFound`.
const ERROR_TYPE_PREFIX: &str = "https://errors-api.cloud.com/";

/// Job failure messages that mean the zone's connectors are down or in outage mode
/// (the strings Citrix's own Terraform provider matches on).
const CONNECTOR_OUTAGE_MESSAGES: [&str; 2] = [
    "No Citrix Workspace Cloud Connector was found",
    "Hcl request is not allowed when connector is in outage mode",
];

/// The hint attached to job failures caused by connector outages.
pub const CONNECTOR_HINT: &str = "check the Cloud Connectors of the zone";

/// Everything that can go wrong talking to a CVAD site.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CvadError {
    /// The configuration cannot work (no endpoints, bad URL, …).
    #[error("CVAD site {site}: configuration error: {detail}")]
    Config { site: String, detail: String },

    /// The site answered with an error status; the body was decoded where possible.
    #[error("CVAD site {site}: {}", api_summary(.detail, *.status, .error_type))]
    Api {
        site: String,
        status: u16,
        /// The error type without its URL prefix, e.g. `common/notFound`; empty if none.
        error_type: String,
        detail: String,
        parameters: Vec<(String, String)>,
        /// `Citrix-TransactionId` of the call, for correlation with the site's logs.
        transaction_id: String,
    },

    /// The credentials or token were refused.
    #[error("CVAD site {site}: authentication failed at {endpoint}: {detail}; {hint}")]
    Auth {
        site: String,
        endpoint: String,
        detail: String,
        hint: &'static str,
    },

    /// No endpoint of the site gave an answer.
    #[error(
        "none of the {count} connector{} of site {site} answered: {}",
        if *.count == 1 { "" } else { "s" },
        .failures.join("; ")
    )]
    Unreachable {
        site: String,
        count: usize,
        /// One `endpoint: reason` line per endpoint tried.
        failures: Vec<String>,
    },

    /// A request that must not be sent twice got no answer; it may or may not have been applied.
    #[error(
        "CVAD site {site}: {what} sent to {endpoint} got no answer ({reason}); it may have been \
         applied, check the target before retrying"
    )]
    Ambiguous {
        site: String,
        what: String,
        endpoint: String,
        reason: String,
    },

    /// The site kept asking us to slow down after every retry the budget allowed.
    #[error(
        "CVAD site {site} is still throttling after {retries} retries ({status} {}); try again later",
        if .detail.is_empty() { "too many requests" } else { .detail.as_str() }
    )]
    Throttled {
        site: String,
        retries: u32,
        status: u16,
        detail: String,
    },

    /// The answer could not be understood.
    #[error("CVAD site {site}: unexpected answer to {what}: {detail}")]
    Decode {
        site: String,
        what: String,
        detail: String,
    },

    /// An asynchronous job ended in `Failed` or `Canceled`.
    #[error(
        "CVAD site {site}: job {job_type} {job_id} {}: {message}{}",
        if *.status == JobStatus::Canceled { "was canceled" } else { "failed" },
        match .hint { Some(h) => format!(" ({h})"), None => String::new() }
    )]
    JobFailed {
        site: String,
        job_id: String,
        job_type: String,
        status: JobStatus,
        message: String,
        hint: Option<&'static str>,
    },

    /// A job did not finish in the time the caller allowed.
    #[error(
        "CVAD site {site}: job {job_type} {job_id} did not finish within {}{}; {}",
        human_duration(*.waited),
        match .progress { Some(p) => format!(" (at {p}%)"), None => String::new() },
        if *.canceled { "it was canceled" } else { "it could not be canceled and may still finish" }
    )]
    JobTimeout {
        site: String,
        job_id: String,
        job_type: String,
        waited: Duration,
        progress: Option<u32>,
        canceled: bool,
    },
}

fn api_summary(detail: &str, status: u16, error_type: &str) -> String {
    if error_type.is_empty() {
        format!("{detail} ({status})")
    } else {
        format!("{detail} ({status} {error_type})")
    }
}

/// `2.5 s`, `30 s`, `3 min 20 s`: durations as a person reads them in a message.
pub(crate) fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 60 {
        let (m, s) = (secs / 60, secs % 60);
        if s == 0 {
            format!("{m} min")
        } else {
            format!("{m} min {s} s")
        }
    } else if d.subsec_millis() != 0 && secs < 10 {
        format!("{:.1} s", d.as_secs_f64())
    } else {
        format!("{secs} s")
    }
}

impl CvadError {
    /// Whether trying the same thing again later can succeed (the adapter's job engine retries
    /// these); permanent errors need a person or different input.
    pub fn is_retryable(&self) -> bool {
        match self {
            CvadError::Api { status, .. } => is_retryable_status(*status),
            CvadError::Unreachable { .. } | CvadError::Throttled { .. } => true,
            // A connector outage clears when the connectors come back.
            CvadError::JobFailed { hint, .. } => hint.is_some(),
            // Retrying blindly could apply the action twice; the caller must check first.
            CvadError::Ambiguous { .. } => false,
            CvadError::JobTimeout { .. } => false,
            CvadError::Config { .. } | CvadError::Auth { .. } | CvadError::Decode { .. } => false,
        }
    }

    /// The HTTP status the site answered with, if this error came from one.
    pub fn status(&self) -> Option<u16> {
        match self {
            CvadError::Api { status, .. } | CvadError::Throttled { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the object asked for does not exist (404).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// The site this error is about.
    pub fn site(&self) -> &str {
        match self {
            CvadError::Config { site, .. }
            | CvadError::Api { site, .. }
            | CvadError::Auth { site, .. }
            | CvadError::Unreachable { site, .. }
            | CvadError::Ambiguous { site, .. }
            | CvadError::Throttled { site, .. }
            | CvadError::Decode { site, .. }
            | CvadError::JobFailed { site, .. }
            | CvadError::JobTimeout { site, .. } => site,
        }
    }
}

/// Statuses worth retrying later: throttling, and a site or gateway that is briefly unwell.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 502 | 503 | 504)
}

/// The hint for a job failure message, if it is one of the known connector-outage strings.
pub fn job_failure_hint(message: &str) -> Option<&'static str> {
    CONNECTOR_OUTAGE_MESSAGES
        .iter()
        .any(|known| message.contains(known))
        .then_some(CONNECTOR_HINT)
}

/// The error type without the `https://errors-api.cloud.com/` prefix.
pub fn short_error_type(kind: &str) -> &str {
    kind.strip_prefix(ERROR_TYPE_PREFIX).unwrap_or(kind)
}

/// A decoded error answer, before it is turned into a [`CvadError`].
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct DecodedError {
    pub error_type: String,
    pub detail: String,
    pub parameters: Vec<(String, String)>,
}

impl DecodedError {
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Decodes an error body: the lower-case `ErrorBody`, else the SDK-style `ErrorData`
/// (`ErrorMessage`), else the first line of the text. A message is synthesized when the site
/// gave none, so the person always reads something specific.
pub(crate) fn decode_error_body(status: u16, body: &[u8]) -> DecodedError {
    let mut decoded = DecodedError::default();
    if let Ok(parsed) = serde_json::from_slice::<ErrorBody>(body) {
        decoded.error_type = short_error_type(&parsed.kind).to_string();
        decoded.detail = parsed.detail.trim().to_string();
        decoded.parameters = parsed
            .parameters
            .into_iter()
            .map(|p| (p.name, p.value))
            .collect();
    }
    if decoded.detail.is_empty()
        && let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(body)
    {
        for key in [
            "ErrorMessage",
            "Message",
            "message",
            "error_description",
            "error",
        ] {
            if let Some(serde_json::Value::String(text)) = map.get(key)
                && !text.trim().is_empty()
            {
                decoded.detail = text.trim().to_string();
                break;
            }
        }
    }
    if decoded.detail.is_empty() && decoded.error_type.is_empty() {
        let text = String::from_utf8_lossy(body);
        let line = text.lines().map(str::trim).find(|l| !l.is_empty());
        if let Some(line) = line
            && !line.starts_with('{')
        {
            decoded.detail = truncate(line, 200);
        }
    }
    if decoded.detail.is_empty() {
        decoded.detail = synthesize_detail(status, &decoded);
    }
    decoded
}

fn synthesize_detail(status: u16, decoded: &DecodedError) -> String {
    match (
        status,
        decoded.parameter("entityType"),
        decoded.parameter("id"),
    ) {
        (404, Some(kind), Some(id)) => format!("{kind} '{id}' not found"),
        (404, _, Some(id)) => format!("'{id}' not found"),
        _ => match reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
        {
            Some(reason) => reason.to_string(),
            None => format!("HTTP status {status}"),
        },
    }
}

/// Cuts `text` to at most `max` characters, marking the cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(max).collect();
        cut.push('…');
        cut
    }
}

/// Parses a retry delay as CVAD and HTTP write it: whole or fractional seconds (`"4"`,
/// `"1.5"`) or a .NET time span (`"00:00:04"`).
pub(crate) fn parse_retry_delay(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let parts: Vec<&str> = value.split(':').collect();
    if let [h, m, s] = parts.as_slice() {
        let h: u64 = h.parse().ok()?;
        let m: u64 = m.parse().ok()?;
        let s: f64 = s.parse().ok()?;
        if s.is_finite() && s >= 0.0 {
            return Some(Duration::from_secs(h * 3600 + m * 60) + Duration::from_secs_f64(s));
        }
    }
    None
}

/// A short, safe description of a request for messages: `GET Machines/LAB|VDI-001`.
pub(crate) fn describe(method: &reqwest::Method, segments: &[String]) -> String {
    format!("{method} {}", segments.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_body_becomes_a_clear_message() {
        let body = br#"{"type":"https://errors-api.cloud.com/common/notFound",
            "detail":"Machine 'LAB|VDI-001' not found",
            "parameters":[{"name":"entityType","value":"Machine"},{"name":"id","value":"LAB|VDI-001"}]}"#;
        let decoded = decode_error_body(404, body);
        assert_eq!(decoded.error_type, "common/notFound");
        assert_eq!(decoded.parameter("ENTITYTYPE"), Some("Machine"));
        let err = CvadError::Api {
            site: "London".into(),
            status: 404,
            error_type: decoded.error_type,
            detail: decoded.detail,
            parameters: decoded.parameters,
            transaction_id: "t".into(),
        };
        assert_eq!(
            err.to_string(),
            "CVAD site London: Machine 'LAB|VDI-001' not found (404 common/notFound)"
        );
        assert!(err.is_not_found());
        assert!(!err.is_retryable());
    }

    #[test]
    fn missing_detail_is_synthesized_from_parameters_or_status() {
        let body = br#"{"type":"https://errors-api.cloud.com/common/notFound","detail":"",
            "parameters":[{"name":"entityType","value":"Session"},{"name":"id","value":"abc"}]}"#;
        assert_eq!(
            decode_error_body(404, body).detail,
            "Session 'abc' not found"
        );
        assert_eq!(decode_error_body(502, b"").detail, "Bad Gateway");
        assert_eq!(decode_error_body(599, b"").detail, "HTTP status 599");
    }

    #[test]
    fn other_body_shapes_still_give_a_message() {
        let sdk = br#"{"ErrorMessage":"Machine is in maintenance","SdkErrorId":"X"}"#;
        assert_eq!(
            decode_error_body(400, sdk).detail,
            "Machine is in maintenance"
        );
        let html = b"<html>\n  Service down\n</html>";
        assert_eq!(decode_error_body(503, html).detail, "<html>");
        let text = b"\n  upstream connect error  \n";
        assert_eq!(
            decode_error_body(503, text).detail,
            "upstream connect error"
        );
    }

    #[test]
    fn retry_classification() {
        for status in [408, 429, 502, 503, 504] {
            assert!(is_retryable_status(status), "{status}");
        }
        for status in [400, 401, 403, 404, 409, 500] {
            assert!(!is_retryable_status(status), "{status}");
        }
        let unreachable = CvadError::Unreachable {
            site: "S".into(),
            count: 2,
            failures: vec!["a: refused".into(), "b: refused".into()],
        };
        assert!(unreachable.is_retryable());
        assert_eq!(
            unreachable.to_string(),
            "none of the 2 connectors of site S answered: a: refused; b: refused"
        );
        let auth = CvadError::Auth {
            site: "S".into(),
            endpoint: "http://x".into(),
            detail: "bad".into(),
            hint: "check",
        };
        assert!(!auth.is_retryable());
        let ambiguous = CvadError::Ambiguous {
            site: "S".into(),
            what: "POST x".into(),
            endpoint: "e".into(),
            reason: "timed out".into(),
        };
        assert!(!ambiguous.is_retryable());
    }

    #[test]
    fn connector_outage_job_failures_get_a_hint_and_are_retryable() {
        let msg = "Hcl request is not allowed when connector is in outage mode";
        assert_eq!(job_failure_hint(msg), Some(CONNECTOR_HINT));
        assert_eq!(job_failure_hint("Disk full"), None);
        let err = CvadError::JobFailed {
            site: "Cloud".into(),
            job_id: "j1".into(),
            job_type: "AddMachineCatalogMachine".into(),
            status: JobStatus::Failed,
            message: "No Citrix Workspace Cloud Connector was found".into(),
            hint: job_failure_hint("No Citrix Workspace Cloud Connector was found"),
        };
        assert!(err.is_retryable());
        assert_eq!(
            err.to_string(),
            "CVAD site Cloud: job AddMachineCatalogMachine j1 failed: No Citrix Workspace Cloud \
             Connector was found (check the Cloud Connectors of the zone)"
        );
    }

    #[test]
    fn retry_delays_parse_in_every_form() {
        assert_eq!(parse_retry_delay("4"), Some(Duration::from_secs(4)));
        assert_eq!(
            parse_retry_delay(" 1.5 "),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(parse_retry_delay("00:01:02"), Some(Duration::from_secs(62)));
        assert_eq!(parse_retry_delay("-1"), None);
        assert_eq!(parse_retry_delay("soon"), None);
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(Duration::from_millis(2500)), "2.5 s");
        assert_eq!(human_duration(Duration::from_secs(30)), "30 s");
        assert_eq!(human_duration(Duration::from_secs(200)), "3 min 20 s");
        assert_eq!(human_duration(Duration::from_secs(120)), "2 min");
    }
}
