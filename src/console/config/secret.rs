//! The console's client secret: `DESKBRIDGE_CLIENT_SECRET`, `DESKBRIDGE_CLIENT_SECRET_FILE`,
//! or the file's `secret = { env | file }` reference, read with the adapter's secret helpers.

use super::{ENV_CLIENT_SECRET, ENV_CLIENT_SECRET_FILE, Origin, Resolver, Sourced};
use crate::config::{Diagnostic, SecretRef, SecretSpec, expand_path};
use crate::secret::Secret;
use std::ops::Range;
use std::path::PathBuf;
use toml::Spanned;

impl Resolver<'_> {
    /// The client secret: `DESKBRIDGE_CLIENT_SECRET`, `DESKBRIDGE_CLIENT_SECRET_FILE`, or the
    /// file's reference. `None` inside means "not given"; the outer `None` means an error.
    pub(super) fn secret(
        &mut self,
        in_file: Option<&Spanned<SecretSpec>>,
    ) -> Option<Option<Sourced<Secret>>> {
        let (env_set, file_set) = (
            (self.env)(ENV_CLIENT_SECRET).is_some(),
            self.var(ENV_CLIENT_SECRET_FILE).is_some(),
        );
        let (reference, span) = match (env_set, file_set) {
            (true, true) => {
                self.outside(
                    &format!("${ENV_CLIENT_SECRET}"),
                    format!(
                        "both {ENV_CLIENT_SECRET} and {ENV_CLIENT_SECRET_FILE} are set; unset one"
                    ),
                );
                return None;
            }
            (true, false) => (SecretRef::Env(ENV_CLIENT_SECRET.into()), None),
            (false, true) => {
                let path = self.var(ENV_CLIENT_SECRET_FILE).unwrap_or_default();
                (SecretRef::File(PathBuf::from(path)), None)
            }
            (false, false) => match in_file.map(|s| (s.get_ref(), s.span())) {
                None => return Some(None),
                Some((SecretSpec::Inline(what), span)) => {
                    self.c
                        .error(span, "adapter.secret", SecretSpec::inline_message(what));
                    return None;
                }
                Some((SecretSpec::Ref(r), span)) => (r.clone(), Some(span)),
            },
        };
        // `~/` is expanded for the console's users; relative paths in the file are relative
        // to its folder, from the environment to the working directory.
        let base = if span.is_some() {
            self.base_dir.clone()
        } else {
            PathBuf::from(".")
        };
        let reference = match reference {
            SecretRef::File(path) => match expand_path(&path.to_string_lossy(), &base, self.env) {
                Ok(path) => SecretRef::File(path),
                Err(e) => return self.secret_error(span, e),
            },
            other => other,
        };
        let origin = match &reference {
            SecretRef::Env(var) => Origin::Env(var.clone()),
            SecretRef::File(path) => Origin::SecretFile(path.clone()),
        };
        if let SecretRef::Env(var) = &reference
            && (self.env)(var).is_none()
        {
            // The shared resolver's advice speaks of the adapter's service environment.
            let message = format!(
                "environment variable {var} is not set; export it before starting the console, \
                 or use `{{ file = \"/path\" }}`"
            );
            return self.secret_error(span, message);
        }
        match reference.resolve(&base, self.env) {
            Ok(resolved) => {
                if let Some(warning) = resolved.warning {
                    match &span {
                        Some(span) => self.c.warn(span.clone(), "adapter.secret", warning),
                        None => self.c.warnings.push(Diagnostic {
                            file: format!("${ENV_CLIENT_SECRET_FILE}"),
                            position: None,
                            key: None,
                            message: warning,
                        }),
                    }
                }
                Some(Some(Sourced::new(resolved.secret, origin)))
            }
            Err(e) => self.secret_error(span, e),
        }
    }

    fn secret_error<T>(&mut self, span: Option<Range<usize>>, message: String) -> Option<T> {
        match span {
            Some(span) => self.c.error(span, "adapter.secret", message),
            None if (self.env)(ENV_CLIENT_SECRET).is_some() => {
                self.outside(&format!("${ENV_CLIENT_SECRET}"), message)
            }
            None => self.outside(&format!("${ENV_CLIENT_SECRET_FILE}"), message),
        }
        None
    }
}
