//! Secret references (`{ env = "VAR" }` or `{ file = "/path" }`) and their resolution into
//! [`Secret`]s. A secret written inline is refused, and no message ever repeats a value.

use crate::secret::Secret;
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use std::fmt;
use std::path::{Path, PathBuf};

/// How to write a reference; every refusal of an inline secret ends with this.
pub(super) const HOW_TO_REFER: &str = "write a reference instead: `{ env = \"VAR_NAME\" }` (an \
     environment variable) or `{ file = \"/path/to/file\" }` (a file holding only the secret)";

/// Secret files larger than this are refused: a secret is a line, not a document.
const MAX_SECRET_FILE: u64 = 64 * 1024;

/// Where a secret comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// An environment variable of the adapter's process.
    Env(String),
    /// A file; a relative path is relative to the config file's folder.
    File(PathBuf),
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env(var) => write!(f, "environment variable {var}"),
            SecretRef::File(path) => write!(f, "file {}", path.display()),
        }
    }
}

/// A resolved secret, plus a warning about how it is stored, if any.
pub(crate) struct Resolved {
    pub secret: Secret,
    pub warning: Option<String>,
}

impl SecretRef {
    /// Reads the secret. Errors name the variable or path, never the value.
    pub(crate) fn resolve(
        &self,
        base_dir: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Resolved, String> {
        match self {
            SecretRef::Env(var) => match env(var) {
                None => Err(format!(
                    "environment variable {var} is not set; export it in the adapter's \
                     environment (e.g. in its systemd unit) or use `{{ file = \"/path\" }}`"
                )),
                Some(value) if value.is_empty() => {
                    Err(format!("environment variable {var} is set but empty"))
                }
                Some(value) => Ok(Resolved {
                    secret: Secret::new(value),
                    warning: None,
                }),
            },
            SecretRef::File(path) => read_secret_file(&base_dir.join(path)),
        }
    }
}

fn read_secret_file(path: &Path) -> Result<Resolved, String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read file {shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{shown} is not a regular file"));
    }
    if meta.len() > MAX_SECRET_FILE {
        return Err(format!(
            "file {shown} is {} bytes; a secret file holds only the secret",
            meta.len()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read file {shown}: {e}"))?;
    let mut text =
        String::from_utf8(bytes).map_err(|_| format!("file {shown} is not valid UTF-8"))?;
    // Editors and `echo` add one newline at the end; it is not part of the secret.
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    if text.is_empty() {
        return Err(format!("file {shown} is empty"));
    }
    Ok(Resolved {
        secret: Secret::new(text),
        warning: world_readable_warning(&meta, path),
    })
}

/// Warn, rather than refuse, about a secret file every local user can read: container secret
/// mounts are often 0644 inside a private mount, and refusing them would block those setups.
#[cfg(unix)]
fn world_readable_warning(meta: &std::fs::Metadata, path: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    (mode & 0o004 != 0).then(|| {
        format!(
            "secret file {} is readable by every user (mode {mode:04o}); restrict it with \
             `chmod 600` (or 640 with the adapter's group)",
            path.display()
        )
    })
}

#[cfg(not(unix))]
fn world_readable_warning(_meta: &std::fs::Metadata, _path: &Path) -> Option<String> {
    None
}

/// A secret key as written: a reference, or a value written inline (kept only as a
/// description of its type, never the value) so that the checking pass can report it along
/// with every other problem of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SecretSpec {
    Ref(SecretRef),
    /// "a string", "a number"…: what was written instead of a reference.
    Inline(&'static str),
}

impl SecretSpec {
    /// The message for an inline value.
    pub(crate) fn inline_message(what: &str) -> String {
        format!("a secret cannot be written in the config ({what} given); {HOW_TO_REFER}")
    }
}

impl fmt::Display for SecretSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSpec::Ref(r) => r.fmt(f),
            SecretSpec::Inline(what) => write!(f, "an inline value ({what})"),
        }
    }
}

impl<'de> Deserialize<'de> for SecretSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SecretRefVisitor)
    }
}

/// Accepts only `{ env = "VAR" }` or `{ file = "PATH" }`. Every other shape is refused with a
/// message that does not include the value, since an inline value is likely the secret itself.
impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match SecretSpec::deserialize(deserializer)? {
            SecretSpec::Ref(r) => Ok(r),
            SecretSpec::Inline(what) => Err(de::Error::custom(SecretSpec::inline_message(what))),
        }
    }
}

struct SecretRefVisitor;

impl<'de> Visitor<'de> for SecretRefVisitor {
    type Value = SecretSpec;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a secret reference { env = \"VAR\" } or { file = \"/path\" }")
    }

    // Each scalar visitor is overridden because serde's default error would quote the value.
    // The value itself is dropped here.
    fn visit_str<E: de::Error>(self, _: &str) -> Result<SecretSpec, E> {
        Ok(SecretSpec::Inline("a string"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<SecretSpec, E> {
        Ok(SecretSpec::Inline("a number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<SecretSpec, E> {
        Ok(SecretSpec::Inline("a number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<SecretSpec, E> {
        Ok(SecretSpec::Inline("a number"))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<SecretSpec, E> {
        Ok(SecretSpec::Inline("a boolean"))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<SecretSpec, A::Error> {
        // Read and drop the elements so the deserializer sees the array consumed.
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(SecretSpec::Inline("an array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SecretSpec, A::Error> {
        let mut found: Option<SecretRef> = None;
        while let Some(key) = map.next_key::<String>()? {
            if found.is_some() {
                return Err(de::Error::custom(
                    "a secret reference has exactly one key, `env` or `file`",
                ));
            }
            found = Some(match key.as_str() {
                "env" => {
                    let var: String = map.next_value()?;
                    if !is_env_name(&var) {
                        // Not echoed: a malformed "name" may well be the secret pasted in.
                        return Err(de::Error::custom(
                            "`env` must name an environment variable (letters, digits and \
                             `_`, not starting with a digit)",
                        ));
                    }
                    SecretRef::Env(var)
                }
                "file" => {
                    let path: String = map.next_value()?;
                    if path.is_empty() {
                        return Err(de::Error::custom("`file` is empty; give the secret's path"));
                    }
                    SecretRef::File(PathBuf::from(path))
                }
                _ => {
                    return Err(de::Error::custom(format!(
                        "a secret reference takes `env` or `file`, not `{key}`"
                    )));
                }
            });
        }
        found.map(SecretSpec::Ref).ok_or_else(|| {
            de::Error::custom(format!("the secret reference is empty; {HOW_TO_REFER}"))
        })
    }
}

fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Holder {
        #[allow(dead_code)] // Only the deserialization outcome matters here.
        password: SecretRef,
    }

    fn parse(text: &str) -> Result<SecretRef, String> {
        toml::from_str::<Holder>(text)
            .map(|h| h.password)
            .map_err(|e| e.message().to_string())
    }

    #[test]
    fn references_parse() {
        assert_eq!(
            parse("password = { env = \"SN_PASSWORD\" }"),
            Ok(SecretRef::Env("SN_PASSWORD".into()))
        );
        assert_eq!(
            parse("password = { file = \"secrets/sn\" }"),
            Ok(SecretRef::File("secrets/sn".into()))
        );
    }

    #[test]
    fn inline_values_are_refused_without_being_repeated() {
        for text in [
            "password = \"hunter2\"",
            "password = 4242424242",
            "password = [\"hunter2\"]",
            "password = { env = \"hunter2 with spaces\" }",
            "password = { env = \"A\", file = \"hunter2\" }",
        ] {
            let err = parse(text).expect_err(text);
            assert!(!err.contains("hunter2") && !err.contains("4242"), "{err}");
        }
        let err = parse("password = \"hunter2\"").unwrap_err();
        assert!(err.contains("{ env = \"VAR_NAME\" }"), "{err}");
    }

    #[test]
    fn env_resolution_names_the_variable_not_the_value() {
        let env = |name: &str| (name == "SET").then(|| "s3cret".to_string());
        let ok = SecretRef::Env("SET".into()).resolve(Path::new("."), &env);
        assert_eq!(
            ok.map(|r| r.secret.expose().to_string()),
            Ok("s3cret".into())
        );
        let err = SecretRef::Env("UNSET".into())
            .resolve(Path::new("."), &env)
            .err()
            .unwrap_or_default();
        assert!(err.contains("UNSET is not set"), "{err}");
    }
}
