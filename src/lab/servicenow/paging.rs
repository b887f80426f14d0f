//! The `Link` paging header: first/prev/next/last with every original parameter kept.

/// Where one page sits in the whole result.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub offset: usize,
    pub limit: usize,
    pub returned: usize,
    pub total: usize,
}

/// The `Link` header: first/prev/next/last keeping every original parameter; `None` for a
/// single page. `next` starts right after the rows actually returned, so a short page never
/// makes the client skip rows.
pub fn link_header(
    base: &str,
    path: &str,
    params: &[(String, String)],
    p: Paging,
) -> Option<String> {
    if p.offset == 0 && p.returned >= p.total || p.limit == 0 {
        return None;
    }
    let url = |offset: usize| {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in params
            .iter()
            .filter(|(k, _)| k != "sysparm_offset" && k != "sysparm_limit")
        {
            s.append_pair(k, v);
        }
        s.append_pair("sysparm_offset", &offset.to_string());
        s.append_pair("sysparm_limit", &p.limit.to_string());
        format!("<{base}{path}?{}>", s.finish())
    };
    let mut links = vec![format!("{};rel=\"first\"", url(0))];
    if p.offset > 0 {
        links.push(format!(
            "{};rel=\"prev\"",
            url(p.offset.saturating_sub(p.limit))
        ));
    }
    if p.offset + p.returned < p.total {
        links.push(format!("{};rel=\"next\"", url(p.offset + p.returned)));
    }
    let last = p.total.saturating_sub(1) / p.limit * p.limit;
    links.push(format!("{};rel=\"last\"", url(last)));
    Some(links.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_single_page_has_no_link_header() {
        let paging = Paging {
            offset: 0,
            limit: 10,
            returned: 5,
            total: 5,
        };
        assert_eq!(link_header("http://x", "/t", &[], paging), None);
    }

    #[test]
    fn links_keep_params_and_follow_short_pages() {
        let params = p(&[
            ("sysparm_query", "active=true^state=1"),
            ("sysparm_limit", "10"),
        ]);
        let paging = Paging {
            offset: 10,
            limit: 10,
            returned: 4,
            total: 35,
        };
        let link = link_header("http://x", "/api/now/table/incident", &params, paging)
            .expect("several pages");
        assert!(
            link.contains("sysparm_query=active%3Dtrue%5Estate%3D1"),
            "{link}"
        );
        assert!(
            link.contains("sysparm_offset=14&sysparm_limit=10>;rel=\"next\""),
            "{link}"
        );
        assert!(
            link.contains("sysparm_offset=0&sysparm_limit=10>;rel=\"prev\""),
            "{link}"
        );
        assert!(
            link.contains("sysparm_offset=30&sysparm_limit=10>;rel=\"last\""),
            "{link}"
        );
    }
}
