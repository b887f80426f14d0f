//! URL paths of the API: machine names in path form, percent-encoded segments, job ids.

/// `DOMAIN\NAME` becomes `DOMAIN|NAME`, the form CVAD wants for machine (and user) names in URL
/// paths; ids and names without a backslash are unchanged.
pub fn machine_path_name(name_or_id: &str) -> String {
    name_or_id.replace('\\', "|")
}

/// Percent-encodes one path segment. Unreserved characters stay as they are, and so do `$`
/// (the API's action prefix, `$search`) and `|` (the machine-name separator), which CVAD
/// expects literally; everything else, `/`, `%`, `?`, `#`, spaces and non-ASCII included, is
/// encoded so a name can never change the shape of the path.
pub fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        let keep = byte.is_ascii_alphanumeric()
            || matches!(
                byte,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'$'
                    | b'|'
                    | b'@'
                    | b'!'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
            );
        if keep {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `{base}/{seg}/{seg}` with every segment encoded; `base` may end in a slash or not.
pub(crate) fn join(base: &str, segments: &[String]) -> String {
    let mut url = base.trim_end_matches('/').to_string();
    for segment in segments {
        url.push('/');
        url.push_str(&encode_segment(segment));
    }
    url
}

/// The job id in a `Location` header (`…/cvad/manage/Jobs/{id}`): its last path segment,
/// without query or fragment.
pub fn job_id_from_location(location: &str) -> Option<String> {
    let path = location
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .trim_end_matches('/');
    let id = path.rsplit('/').next()?.trim();
    (!id.is_empty() && !id.contains(':')).then(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_names_take_the_pipe_form() {
        assert_eq!(machine_path_name("LAB\\VDI-001"), "LAB|VDI-001");
        assert_eq!(machine_path_name("7f0c-ab"), "7f0c-ab");
    }

    #[test]
    fn segments_are_encoded_but_keep_dollar_and_pipe() {
        assert_eq!(encode_segment("$search"), "$search");
        assert_eq!(encode_segment("LAB|VDI-001"), "LAB|VDI-001");
        assert_eq!(encode_segment("a b/c?d#e%f"), "a%20b%2Fc%3Fd%23e%25f");
        assert_eq!(encode_segment("Zürich"), "Z%C3%BCrich");
        assert_eq!(encode_segment("LAB\\X"), "LAB%5CX");
    }

    #[test]
    fn join_builds_paths_under_the_base() {
        let segments = vec!["Machines".to_string(), "LAB|VDI 1".to_string()];
        assert_eq!(
            join("http://h:1/cvad/manage/", &segments),
            "http://h:1/cvad/manage/Machines/LAB|VDI%201"
        );
    }

    #[test]
    fn job_ids_come_from_the_last_segment() {
        assert_eq!(
            job_id_from_location("https://api.cloud.com/cvad/manage/Jobs/4561cc8d-1?x=1"),
            Some("4561cc8d-1".to_string())
        );
        assert_eq!(
            job_id_from_location("/cvad/manage/Jobs/abc/"),
            Some("abc".into())
        );
        assert_eq!(job_id_from_location(""), None);
        assert_eq!(job_id_from_location("http:"), None);
    }
}
