//! Classifying answers: a real answer, a sick endpoint (fail over), a busy site (wait and
//! retry) or a refused token (renew); and turning error answers into [`CvadError`]s.

use super::config::{CvadConfig, RetryPolicy};
use super::error::{CvadError, decode_error_body, job_failure_hint, parse_retry_delay};
use super::transport::RawResponse;
use std::time::Duration;

/// What to do with an answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Verdict {
    /// A real answer (success or an error to report).
    Done,
    /// The endpoint itself is unwell: try another.
    Sick(String),
    /// The site is busy: wait this long and try again.
    Throttle(Duration),
    /// The token was refused.
    Unauthorized,
}

/// The wait a 429/503 asks for, from `Retry-After` or the body's `retryDelay` parameter.
pub(crate) fn retry_hint(response: &RawResponse) -> Option<Duration> {
    if let Some(delay) = response.header("retry-after").and_then(parse_retry_delay) {
        return Some(delay);
    }
    let decoded = decode_error_body(response.status, &response.body);
    decoded.parameter("retryDelay").and_then(parse_retry_delay)
}

pub(crate) fn verdict(response: &RawResponse, policy: &RetryPolicy) -> Verdict {
    match response.status {
        401 => Verdict::Unauthorized,
        429 => Verdict::Throttle(
            retry_hint(response)
                .unwrap_or(policy.default_retry_delay)
                .min(policy.max_retry_delay),
        ),
        502..=504 => {
            let decoded = decode_error_body(response.status, &response.body);
            match retry_hint(response) {
                Some(delay) if response.status == 503 => {
                    Verdict::Throttle(delay.min(policy.max_retry_delay))
                }
                // The connector answered for the site: the zone behind it is in outage. Every
                // endpoint would say the same, and marking this one down would be wrong.
                _ if response.status == 503 && job_failure_hint(&decoded.detail).is_some() => {
                    Verdict::Done
                }
                _ => Verdict::Sick(format!("answered {} {}", response.status, decoded.detail)),
            }
        }
        _ => Verdict::Done,
    }
}

/// The per-endpoint reasons a call failed, for [`CvadError::Unreachable`].
#[derive(Debug, Default)]
pub(crate) struct Failures(Vec<(String, String)>);

impl Failures {
    /// Records the latest failure of `endpoint`, replacing an earlier one.
    pub fn push(&mut self, endpoint: &str, reason: String) {
        match self.0.iter_mut().find(|(e, _)| e == endpoint) {
            Some(entry) => entry.1 = reason,
            None => self.0.push((endpoint.to_string(), reason)),
        }
    }

    pub fn into_lines(self) -> Vec<String> {
        self.0
            .into_iter()
            .map(|(e, r)| format!("{e}: {r}"))
            .collect()
    }

    pub fn into_error(self, config: &CvadConfig, count: usize) -> CvadError {
        CvadError::Unreachable {
            site: config.site_name.clone(),
            count,
            failures: self.into_lines(),
        }
    }
}

/// The error for a non-success answer.
pub(crate) fn api_error(config: &CvadConfig, response: &RawResponse, txn: &str) -> CvadError {
    let decoded = decode_error_body(response.status, &response.body);
    let detail = match job_failure_hint(&decoded.detail) {
        Some(hint) => format!("{}; {hint}", decoded.detail),
        None => decoded.detail,
    };
    CvadError::Api {
        site: config.site_name.clone(),
        status: response.status,
        error_type: decoded.error_type,
        detail,
        parameters: decoded.parameters,
        transaction_id: txn.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    fn response(status: u16, retry_after: Option<&str>, body: &str) -> RawResponse {
        let mut headers = HeaderMap::new();
        if let Some(value) = retry_after {
            headers.insert("retry-after", HeaderValue::from_str(value).expect("ascii"));
        }
        RawResponse {
            status,
            headers,
            body: body.as_bytes().to_vec(),
        }
    }

    const BUSY: &str = r#"{"type":"https://errors-api.cloud.com/common/serviceUnavailable",
        "detail":"try again in 4 seconds","parameters":[{"name":"retryDelay","value":"4"}]}"#;

    #[test]
    fn verdicts_separate_sick_endpoints_from_busy_sites() {
        let policy = RetryPolicy::default();
        assert_eq!(verdict(&response(200, None, "{}"), &policy), Verdict::Done);
        assert_eq!(verdict(&response(404, None, ""), &policy), Verdict::Done);
        assert_eq!(verdict(&response(500, None, ""), &policy), Verdict::Done);
        assert_eq!(
            verdict(&response(401, None, ""), &policy),
            Verdict::Unauthorized
        );
        // Busy: 429 always, 503 only with a delay.
        assert_eq!(
            verdict(&response(429, Some("2"), ""), &policy),
            Verdict::Throttle(Duration::from_secs(2))
        );
        assert_eq!(
            verdict(&response(429, None, ""), &policy),
            Verdict::Throttle(policy.default_retry_delay)
        );
        assert_eq!(
            verdict(&response(503, None, BUSY), &policy),
            Verdict::Throttle(Duration::from_secs(4))
        );
        // Sick: gateway errors and a bare 503.
        for status in [502, 503, 504] {
            assert!(
                matches!(
                    verdict(&response(status, None, ""), &policy),
                    Verdict::Sick(_)
                ),
                "{status}"
            );
        }
        // A zone outage is the site's answer, not a sick endpoint.
        let outage = r#"{"type":"https://errors-api.cloud.com/common/serviceUnavailable",
            "detail":"Hcl request is not allowed when connector is in outage mode"}"#;
        assert_eq!(
            verdict(&response(503, None, outage), &policy),
            Verdict::Done
        );
        // A 502 with a delay is still the endpoint's own problem.
        assert!(matches!(
            verdict(&response(502, Some("1"), ""), &policy),
            Verdict::Sick(_)
        ));
    }

    #[test]
    fn waits_are_capped() {
        let policy = RetryPolicy::default();
        assert_eq!(
            verdict(&response(429, Some("3600"), ""), &policy),
            Verdict::Throttle(policy.max_retry_delay)
        );
    }

    #[test]
    fn failures_keep_the_latest_reason_per_endpoint() {
        let mut failures = Failures::default();
        failures.push("http://a", "refused".into());
        failures.push("http://b", "timed out".into());
        failures.push("http://a", "reset".into());
        assert_eq!(
            failures.into_lines(),
            vec![
                "http://a: reset".to_string(),
                "http://b: timed out".to_string()
            ]
        );
    }
}
