//! Parsers for the value formats a config uses: durations (`"30s"`), http(s) URLs, and names.

use std::time::Duration;

/// Parses `"500ms"`, `"30s"`, `"5m"`, `"1h"`: a whole number and one unit.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let how = "write a whole number and a unit: \"500ms\", \"30s\", \"5m\" or \"1h\"";
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration; {how}"))?;
    let duration = match unit.trim() {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        "" => return Err(format!("{text:?} has no unit; {how}")),
        other => return Err(format!("unknown unit {other:?}; {how}")),
    };
    if duration.is_zero() {
        return Err("must be longer than zero".into());
    }
    Ok(duration)
}

/// Checks an http(s) base URL and returns it without a trailing slash, so that paths can be
/// appended with `format!("{base}/path")`.
pub(super) fn parse_base_url(text: &str) -> Result<(String, url::Url), String> {
    let url = url::Url::parse(text.trim()).map_err(|e| {
        format!("{text:?} is not a URL ({e}); write e.g. \"https://host.example.com\"")
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "{text:?} uses scheme {}; only http and https are supported",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{text:?} has no host name"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "{text:?} has a query or fragment; give the base URL only"
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        // Not echoed: the text holds a password.
        return Err(
            "the URL holds credentials; put them in the credentials section as \
                    secret references"
                .into(),
        );
    }
    Ok((text.trim().trim_end_matches('/').to_string(), url))
}

/// True for a URL whose host is not a loopback address and whose scheme is plain http.
pub(super) fn is_plain_http_remote(url: &url::Url) -> bool {
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    url.scheme() == "http" && !loopback
}

/// A name used in API paths and logs: non-empty, printable, no surrounding spaces.
pub(super) fn check_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("is empty; give a short name such as \"london\"".into());
    }
    if name.trim() != name {
        return Err(format!("{name:?} has leading or trailing spaces"));
    }
    if name.chars().any(|c| c.is_control() || c == '/') {
        return Err(format!(
            "{name:?} has a `/` or a control character; names appear in API paths"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("30").is_err_and(|e| e.contains("no unit")));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("3d").is_err_and(|e| e.contains("unknown unit")));
    }

    #[test]
    fn urls() {
        let base = parse_base_url("https://ddc1.corp.example.com/").map(|(base, _)| base);
        assert_eq!(base.as_deref(), Ok("https://ddc1.corp.example.com"));
        assert!(parse_base_url("ftp://x").is_err());
        assert!(parse_base_url("ddc1").is_err());
        let err = parse_base_url("https://u:hunter2@x")
            .err()
            .unwrap_or_default();
        assert!(
            err.contains("credentials") && !err.contains("hunter2"),
            "{err}"
        );
        let remote = url::Url::parse("http://ddc1").ok();
        assert!(remote.is_some_and(|u| is_plain_http_remote(&u)));
        let local = url::Url::parse("http://127.0.0.1:9").ok();
        assert!(local.is_some_and(|u| !is_plain_http_remote(&u)));
    }
}
