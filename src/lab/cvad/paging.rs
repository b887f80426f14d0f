//! `limit` / `continuationToken` paging over a stable ordering.
//!
//! Every collection is ordered by a never-reused key (a sequence number or a record index), and
//! the token is the opaque encoding of the last key served. Resuming is a range lookup, so a
//! page costs only its own items, and a token minted by one connector works on any other.

use super::error::{ApiError, ApiResult};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::collections::HashMap;

pub const DEFAULT_LIMIT: usize = 250;
pub const MAX_LIMIT: usize = 1000;

/// What a client asked for: how many items, resuming after which key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: usize,
    pub after: Option<u64>,
}

/// A query parameter by name, ignoring case (`continuationToken`, `ContinuationToken`).
pub fn query_param<'a>(query: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Parses `limit` and `continuationToken`; `kind` ties a token to the collection it came from.
pub fn parse(query: &HashMap<String, String>, kind: &str) -> ApiResult<PageRequest> {
    let limit = match query_param(query, "limit") {
        None => DEFAULT_LIMIT,
        Some(raw) => {
            let value: i64 = raw.trim().parse().map_err(|_| {
                ApiError::invalid_string("limit", format!("limit must be a number, got '{raw}'"))
            })?;
            if !(1..=MAX_LIMIT as i64).contains(&value) {
                return Err(ApiError::out_of_range(
                    "limit",
                    format!("limit must be between 1 and {MAX_LIMIT}, got {value}"),
                )
                .param("min", "1")
                .param("max", MAX_LIMIT.to_string()));
            }
            value as usize
        }
    };
    let after = match query_param(query, "continuationToken") {
        None | Some("") => None,
        Some(token) => Some(decode(token, kind)?),
    };
    Ok(PageRequest { limit, after })
}

/// The token that resumes `kind` after `last`.
pub fn encode(kind: &str, last: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1.{kind}.{last}"))
}

fn decode(token: &str, kind: &str) -> ApiResult<u64> {
    let invalid = || {
        ApiError::invalid_string(
            "continuationToken",
            "The continuation token is not valid for this collection",
        )
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(token.trim())
        .map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let mut parts = text.splitn(3, '.');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("v1"), Some(k), Some(last)) if k == kind => last.parse().map_err(|_| invalid()),
        _ => Err(invalid()),
    }
}

/// Takes up to `limit` items from an iterator already positioned after the resume key; the
/// token is set when at least one more item follows.
pub fn take_page<T>(
    iter: impl Iterator<Item = (u64, T)>,
    limit: usize,
    kind: &str,
) -> (Vec<T>, Option<String>) {
    let mut items = Vec::with_capacity(limit.min(MAX_LIMIT));
    let mut last = None;
    let mut iter = iter.peekable();
    while items.len() < limit {
        match iter.next() {
            Some((key, item)) => {
                last = Some(key);
                items.push(item);
            }
            None => break,
        }
    }
    let token = match (iter.peek(), last) {
        (Some(_), Some(last)) => Some(encode(kind, last)),
        _ => None,
    };
    (items, token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn limits_default_and_are_bounded() {
        assert_eq!(parse(&query(&[]), "s").map(|p| p.limit), Ok(DEFAULT_LIMIT));
        assert_eq!(
            parse(&query(&[("limit", "1000")]), "s").map(|p| p.limit),
            Ok(1000)
        );
        let err = parse(&query(&[("limit", "1001")]), "s").expect_err("too big");
        assert_eq!(err.kind, "common/outOfRange");
        let err = parse(&query(&[("limit", "ten")]), "s").expect_err("not a number");
        assert_eq!(err.kind, "common/invalidString");
    }

    #[test]
    fn tokens_round_trip_and_are_tied_to_their_collection() {
        let token = encode("sessions", 41);
        let page = parse(&query(&[("continuationToken", &token)]), "sessions").expect("valid");
        assert_eq!(page.after, Some(41));
        assert!(parse(&query(&[("continuationToken", &token)]), "machines").is_err());
        assert!(parse(&query(&[("continuationToken", "garbage!")]), "sessions").is_err());
    }

    #[test]
    fn pages_walk_every_item_once() {
        let data: Vec<u64> = (0..25).collect();
        let mut after: Option<u64> = None;
        let mut seen = Vec::new();
        loop {
            let iter = data
                .iter()
                .copied()
                .filter(|k| after.is_none_or(|a| *k > a))
                .map(|k| (k, k));
            let (items, token) = take_page(iter, 10, "n");
            seen.extend(items);
            match token {
                Some(t) => {
                    after = parse(&query(&[("continuationToken", &t)]), "n")
                        .expect("token")
                        .after
                }
                None => break,
            }
        }
        assert_eq!(seen, data);
    }

    #[test]
    fn an_exact_last_page_has_no_token() {
        let (items, token) = take_page((0..10u64).map(|k| (k, k)), 10, "n");
        assert_eq!(items.len(), 10);
        assert_eq!(token, None);
    }
}
