//! Paging decisions: the `Link` header, `X-Total-Count`, and where the next page starts.
//!
//! A page shorter than `sysparm_limit` is NOT the end of the data: ServiceNow applies the limit
//! before ACLs and may cut large answers, so the client stops only when neither `Link rel="next"`
//! nor the count says there is more (and, with no count at all, when a page comes back short).

use reqwest::header::{HeaderMap, LINK};

/// One entry of a `Link` header: `<url>; rel="next"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkEntry {
    pub url: String,
    /// The relation types (`rel="next last"` gives two).
    pub rels: Vec<String>,
}

/// Parses an RFC 8288 `Link` header value. URLs may contain commas and semicolons (encoded
/// queries do), so they are read up to the closing `>`, not split on `,`.
pub fn parse_link_header(value: &str) -> Vec<LinkEntry> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('>') else { break };
        let url = after[..close].trim().to_owned();
        let params_and_rest = &after[close + 1..];
        // Parameters run to the next comma outside quotes.
        let mut end = params_and_rest.len();
        let mut in_quotes = false;
        for (i, c) in params_and_rest.char_indices() {
            match c {
                '"' => in_quotes = !in_quotes,
                ',' if !in_quotes => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        let params = &params_and_rest[..end];
        let mut rels = Vec::new();
        for param in params.split(';') {
            let Some((name, value)) = param.split_once('=') else {
                continue;
            };
            if name.trim().eq_ignore_ascii_case("rel") {
                let value = value.trim().trim_matches('"');
                rels.extend(value.split_whitespace().map(str::to_ascii_lowercase));
            }
        }
        out.push(LinkEntry { url, rels });
        rest = params_and_rest.get(end..).unwrap_or_default();
    }
    out
}

/// The `rel="next"` URL among all `Link` headers of an answer.
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(parse_link_header)
        .find(|e| e.rels.iter().any(|r| r == "next"))
        .map(|e| e.url)
}

/// `X-Total-Count`, when present and numeric.
pub fn total_count(headers: &HeaderMap) -> Option<u64> {
    headers
        .get("x-total-count")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// Where the next page starts when there is no usable `Link rel="next"`, or `None` at the end.
///
/// With a count, the client moves on by the rows received (or by the limit after an empty
/// page) until the offset reaches the count. Moving by rows received never skips a row even if
/// an answer was cut short; if the instance instead hid rows by ACL, the overlap is re-read and
/// de-duplicated by sys_id. Without a count, only a full page proves there may be more.
pub fn next_offset(offset: u64, limit: u64, received: u64, total: Option<u64>) -> Option<u64> {
    match total {
        Some(total) => {
            let step = if received > 0 { received } else { limit.max(1) };
            let next = offset.saturating_add(step);
            (next < total).then_some(next)
        }
        None => (received > 0 && received >= limit).then(|| offset.saturating_add(received)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn link_headers_parse_with_commas_in_urls() {
        let v = r#"<https://i/api/now/table/incident?sysparm_query=stateIN1,2&sysparm_offset=0&sysparm_limit=2>;rel="first",<https://i/api/now/table/incident?sysparm_query=stateIN1,2&sysparm_offset=2&sysparm_limit=2>;rel="next", <https://i/x?a=1;b=2>; rel="last prev""#;
        let links = parse_link_header(v);
        assert_eq!(links.len(), 3);
        assert_eq!(links[0].rels, vec!["first"]);
        assert_eq!(
            links[1].url,
            "https://i/api/now/table/incident?sysparm_query=stateIN1,2&sysparm_offset=2&sysparm_limit=2"
        );
        assert_eq!(links[1].rels, vec!["next"]);
        assert_eq!(links[2].url, "https://i/x?a=1;b=2");
        assert_eq!(links[2].rels, vec!["last", "prev"]);
        assert_eq!(parse_link_header("garbage"), vec![]);
        assert_eq!(parse_link_header("<unclosed"), vec![]);
        let unquoted = parse_link_header("</a?o=1>; REL=next");
        assert_eq!(unquoted[0].rels, vec!["next"]);
    }

    #[test]
    fn next_link_and_count_come_from_headers() {
        let mut h = HeaderMap::new();
        h.append(LINK, HeaderValue::from_static(r#"</p?o=0>;rel="first""#));
        h.append(LINK, HeaderValue::from_static(r#"</p?o=10>;rel="next""#));
        h.insert("X-Total-Count", HeaderValue::from_static("42"));
        assert_eq!(next_link(&h).as_deref(), Some("/p?o=10"));
        assert_eq!(total_count(&h), Some(42));
        assert_eq!(next_link(&HeaderMap::new()), None);
    }

    #[test]
    fn short_pages_do_not_end_paging_while_the_count_says_more() {
        assert_eq!(next_offset(0, 100, 37, Some(250)), Some(37));
        assert_eq!(next_offset(0, 100, 0, Some(250)), Some(100));
        assert_eq!(next_offset(200, 100, 50, Some(250)), None);
        // No count: a full page means maybe more, a short one means the end.
        assert_eq!(next_offset(0, 100, 100, None), Some(100));
        assert_eq!(next_offset(0, 100, 99, None), None);
        assert_eq!(next_offset(0, 100, 0, None), None);
    }
}
