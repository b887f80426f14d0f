//! The operator's account actions: `P` resets a password through its dialog (live policy
//! check, generate, must-change, unlock, verification) then the adapter's check, then a job;
//! `u`, `E`, `D` unlock, enable and disable through the usual confirmation. The users view's
//! account columns are `account_rows`.
//!
//! Secrets: the typed password and security code live in the dialog's [`SecretInput`]s, are
//! wiped when it closes, and leave the app only as [`Secret`]s inside an effect. A generated
//! password comes back once, is shown in [`Mode::ShownOnce`] and dropped when it closes.
//!
//! [`SecretInput`]: crate::console::widgets::secret_input::SecretInput

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind};
use serde_json::{Value, json};

use super::msg::Failure;
use super::pending::job_change;
use super::{AccountSlot, App, Effect, Level, Mode, Msg, Row, RowRef, convert};
use crate::accounts::{AccountNames, PasswordPolicy, Summary};
use crate::console::client::{
    IdempotencyKey, JobInfo, JobRequest, PasswordCheck, Target, TicketLink,
};
use crate::console::keymap::{Action, View};
use crate::console::widgets::password_dialog::{Method, PasswordOutcome, PasswordState};
use crate::secret::Secret;

/// The open password reset dialog: whose password, and the form.
#[derive(Debug)]
pub struct PasswordReset {
    /// `site` is the directory domain, `id` the account name.
    pub target: Target,
    /// `DOMAIN\sam`.
    pub login: String,
    pub display_name: String,
    /// The ticket the reset is for (a ticket's requester, or a drill-down from one).
    pub ticket: Option<TicketLink>,
    pub form: PasswordState,
}

impl PasswordReset {
    /// `LAB\ada (Ada Lovelace)`.
    pub fn label(&self) -> String {
        if self.display_name.is_empty() {
            self.login.clone()
        } else {
            format!("{} ({})", self.login, self.display_name)
        }
    }

    pub fn names(&self) -> AccountNames {
        AccountNames::new(&self.target.id, &self.display_name)
    }

    /// The live checklist for the password typed so far.
    pub fn summary(&self, policy: &PasswordPolicy) -> Summary {
        policy.summary(self.form.password.expose(), &self.names())
    }
}

/// A generated password on screen until the operator closes the box.
#[derive(Debug)]
pub struct ShownOnce {
    pub login: String,
    pub password: Secret,
}

/// One account a row is about.
struct Who {
    domain: String,
    sam: String,
    login: String,
    name: String,
}

/// `DOMAIN\sam` split; `None` for a login without a domain.
pub(super) fn split_login(login: &str) -> Option<(&str, &str)> {
    let (domain, sam) = login.split_once('\\')?;
    (!domain.is_empty() && !sam.is_empty()).then_some((domain, sam))
}

impl App {
    /// `P`, `u`, `E`, `D` on the selected rows.
    pub(crate) fn begin_account(&mut self, action: Action) -> Vec<Effect> {
        let rows = self.table().targets();
        if rows.is_empty() {
            self.say(Level::Warn, "nothing selected");
            return Vec::new();
        }
        let who = self.accounts_of(&rows);
        let ticket = match rows.first().map(|r| &r.target) {
            Some(RowRef::Ticket(link)) => Some(link.clone()),
            _ => self.crumbs.first().and_then(|c| c.ticket.clone()),
        };
        if who.is_empty() {
            let why = if self.view == View::Tickets {
                "the requester is not among the loaded users: open them with Enter first"
            } else {
                "select a user with a DOMAIN\\name login"
            };
            self.say(Level::Warn, why);
            return Vec::new();
        }
        if action == Action::ResetPassword {
            if who.len() > 1 {
                self.say(Level::Warn, "a password is reset for one account at a time");
                return Vec::new();
            }
            let Some(w) = who.into_iter().next() else {
                return Vec::new();
            };
            return self.open_password(w, ticket);
        }
        let (job, title, verb) = match action {
            Action::Unlock => ("account.unlock", "Unlock accounts", "Unlock"),
            Action::EnableAccount => ("account.enable", "Enable accounts", "Enable"),
            _ => ("account.disable", "Disable accounts", "Disable"),
        };
        let targets = who
            .iter()
            .map(|w| Target {
                site: w.domain.clone(),
                id: w.sam.clone(),
            })
            .collect();
        let names = who.iter().map(|w| w.login.clone()).collect();
        let pending = job_change(
            title,
            verb,
            "account",
            job,
            targets,
            names,
            json!(null),
            ticket,
        );
        self.confirm(pending)
    }

    /// Each account once: a user row's login, or a ticket's requester found among the
    /// loaded users (the ticket has their name, not their login).
    fn accounts_of(&self, rows: &[&Row]) -> Vec<Who> {
        let mut out: Vec<Who> = Vec::new();
        let mut push = |login: &str, name: &str| {
            if let Some((domain, sam)) = split_login(login)
                && !out.iter().any(|w| w.login.eq_ignore_ascii_case(login))
            {
                out.push(Who {
                    domain: domain.to_owned(),
                    sam: sam.to_owned(),
                    login: login.to_owned(),
                    name: name.to_owned(),
                });
            }
        };
        let users = &self.tables[&View::Users];
        let name_col = convert::column_index(View::Users, "name").unwrap_or(1);
        for row in rows {
            match &row.target {
                RowRef::User { login, .. } => push(login, row.cell(name_col)),
                RowRef::Ticket(_) => {
                    let requester = convert::column_index(View::Tickets, "requester")
                        .map_or("", |i| row.cell(i));
                    for user in users
                        .rows
                        .iter()
                        .filter(|u| !requester.is_empty() && u.cell(name_col) == requester)
                    {
                        if let RowRef::User { login, .. } = &user.target {
                            push(login, requester);
                        }
                    }
                }
                _ => {}
            }
        }
        out
    }

    fn open_password(&mut self, who: Who, ticket: Option<TicketLink>) -> Vec<Effect> {
        let display_name = match self.accounts.get(&who.login) {
            Some(AccountSlot::Loaded(a)) if !a.display_name.is_empty() => a.display_name.clone(),
            _ => who.name,
        };
        self.mode = Mode::Password(Box::new(PasswordReset {
            target: Target {
                site: who.domain,
                id: who.sam,
            },
            login: who.login,
            display_name,
            ticket,
            form: PasswordState::default(),
        }));
        self.dirty = true;
        if self.policy.is_none() {
            vec![Effect::LoadPolicy]
        } else {
            Vec::new()
        }
    }

    /// A key in the password dialog.
    pub(crate) fn password_key(
        &mut self,
        mut reset: Box<PasswordReset>,
        key: KeyEvent,
    ) -> Vec<Effect> {
        match reset.form.handle_key(key) {
            PasswordOutcome::Pending => {
                self.mode = Mode::Password(reset);
                Vec::new()
            }
            PasswordOutcome::Cancelled => {
                // The form wiped its secret fields; dropping `reset` frees them.
                self.say(Level::Info, "Reset password: cancelled, nothing changed");
                Vec::new()
            }
            PasswordOutcome::Submitted => self.password_submit(reset),
        }
    }

    /// Enter: local checks, then the adapter's check of a typed password, or straight to the
    /// job when the adapter generates one.
    fn password_submit(&mut self, mut reset: Box<PasswordReset>) -> Vec<Effect> {
        let form = &mut reset.form;
        let mut errors = Vec::new();
        if !form.generate {
            if form.password.is_empty() {
                errors.push("type the new password, or choose generate".to_owned());
            } else if let Some(policy) = &self.policy {
                let names = AccountNames::new(&reset.target.id, &reset.display_name);
                errors.extend(
                    policy
                        .check(reset.form.password.expose(), &names)
                        .into_iter()
                        .map(|v| format!("the password {v}")),
                );
            }
        }
        let form = &mut reset.form;
        match form.method {
            Method::Callback if form.note.text.trim().is_empty() => {
                errors.push("note how you verified the caller (the call-back note)".to_owned());
            }
            Method::Code if form.code.is_empty() => {
                errors.push("type the requester's security code".to_owned());
            }
            _ => {}
        }
        if !errors.is_empty() {
            form.errors = errors;
            self.mode = Mode::Password(reset);
            return Vec::new();
        }
        if form.generate {
            return self.password_job(reset);
        }
        form.errors.clear();
        form.checking = true;
        let effect = Effect::CheckPassword {
            domain: reset.target.site.clone(),
            user: reset.target.id.clone(),
            password: form.password.secret(),
        };
        self.mode = Mode::Password(reset);
        vec![effect]
    }

    /// Closes the dialog (wiping it) and sends the job.
    fn password_job(&mut self, mut reset: Box<PasswordReset>) -> Vec<Effect> {
        let request = reset_request(&mut reset);
        reset.form.wipe();
        self.mode = Mode::Normal;
        vec![Effect::ResetPassword {
            what: format!("Reset password of {}", reset.login),
            login: reset.login.clone(),
            request,
        }]
    }

    /// The adapter's check answered: on to the job, or its reasons into the dialog.
    pub(crate) fn password_checked(
        &mut self,
        login: &str,
        result: Result<PasswordCheck, Failure>,
    ) -> Vec<Effect> {
        let reset = match std::mem::replace(&mut self.mode, Mode::Normal) {
            Mode::Password(r) if r.login == login && r.form.checking => r,
            other => {
                // Cancelled meanwhile: nothing to do.
                self.mode = other;
                return Vec::new();
            }
        };
        let mut reset = reset;
        reset.form.checking = false;
        self.dirty = true;
        match result {
            Ok(check) if check.ok => self.password_job(reset),
            Ok(check) => {
                reset.form.errors = if check.violations.is_empty() {
                    vec!["the adapter refused the password".to_owned()]
                } else {
                    check
                        .violations
                        .into_iter()
                        .map(|v| format!("the password {}", v.message))
                        .collect()
                };
                self.mode = Mode::Password(reset);
                Vec::new()
            }
            Err(failure) => {
                reset.form.errors = vec![format!("cannot check the password: {}", failure.message)];
                self.mode = Mode::Password(reset);
                Vec::new()
            }
        }
    }

    /// The reset job was answered; a generated password opens the show-once box.
    pub(crate) fn password_reset_answer(
        &mut self,
        what: String,
        login: String,
        result: Result<(Box<JobInfo>, Option<Secret>), Failure>,
    ) -> Vec<Effect> {
        let (result, shown) = match result {
            Ok((job, password)) => (Ok(job), password),
            Err(f) => (Err(f), None),
        };
        let mut effects = self.update(Msg::Submitted { what, result }, self.now);
        self.accounts.remove(&login);
        if let Some(password) = shown {
            // Over anything else open: the operator must see it now, or never.
            self.mode = Mode::ShownOnce(Box::new(ShownOnce { login, password }));
        }
        effects.extend(self.follow_account());
        effects
    }

    /// A key while a generated password is shown: Enter or Esc closes it for good.
    pub(crate) fn shown_once_key(&mut self, shown: Box<ShownOnce>, key: KeyEvent) {
        if key.kind != KeyEventKind::Release && matches!(key.code, KeyCode::Enter | KeyCode::Esc) {
            drop(shown);
            self.mode = Mode::Normal;
        } else {
            self.mode = Mode::ShownOnce(shown);
        }
    }

    pub(crate) fn policy_loaded(&mut self, result: Result<Box<PasswordPolicy>, Failure>) {
        match result {
            Ok(policy) => self.policy = Some(*policy),
            Err(f) => self.say(
                Level::Warn,
                format!(
                    "password policy: {} (the adapter still checks on submit)",
                    f.message
                ),
            ),
        }
        self.dirty = true;
    }
}

/// The job request of a filled-in form; the password and code go in as secrets.
fn reset_request(reset: &mut PasswordReset) -> JobRequest {
    let form = &mut reset.form;
    let verification = match form.method {
        Method::Callback => json!({ "method": "callback", "note": form.note.text.trim() }),
        Method::Code => json!({ "method": "code" }),
    };
    let mut params = json!({
        "must_change": form.must_change,
        "unlock": form.unlock,
        "verification": verification,
    });
    let mut secrets = Vec::new();
    if form.generate {
        params["generate"] = Value::Bool(true);
    } else {
        secrets.push((&["password"][..], form.password.take()));
    }
    if form.method == Method::Code {
        secrets.push((&["verification", "code"][..], form.code.take()));
    }
    JobRequest {
        action: "account.password_reset".into(),
        targets: vec![reset.target.clone()],
        ticket: reset.ticket.clone(),
        params,
        idempotency_key: IdempotencyKey::generate(),
        secrets,
    }
}

#[cfg(test)]
#[path = "account_tests.rs"]
mod tests;
