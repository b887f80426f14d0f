//! `o` on the groups view: power off the marked groups' idle machines. The operator gives the
//! idle threshold in minutes, the adapter previews (a dry run: the machines it would shut down
//! and why each other machine of the groups is left alone), the confirmation dialog shows
//! that preview, and `y` asks the adapter to run it for real: it selects again at that moment
//! and creates one `machine.shutdown` job, which appears in the jobs pane.

use std::collections::BTreeMap;

use super::pending::{Pending, PendingWork, Prompt, PromptFor, count};
use super::{App, Effect, Failure, Level, Mode, Row, RowRef};
use crate::console::client::{IdleAnswer, IdleRequest};
use crate::console::widgets::dialog::ConfirmState;
use crate::console::widgets::input_dialog::InputState;

/// The threshold offered in the prompt.
const DEFAULT_MINUTES: &str = "60";
/// Largest threshold accepted (a year), as the adapter takes.
const MAX_MINUTES: u32 = 525_600;
/// The dialog's title.
const TITLE: &str = "Power off idle machines";

/// The groups among `rows`: (site, id, name).
pub(crate) fn groups_of(rows: &[&Row]) -> Vec<(String, String, String)> {
    rows.iter()
        .filter_map(|row| match &row.target {
            RowRef::Group { site, id } => Some((site.clone(), id.clone(), row.cell(0).to_owned())),
            _ => None,
        })
        .collect()
}

impl App {
    /// The key: asks for the threshold for the marked groups (else the cursor's group), given
    /// as (site, id, name).
    pub(crate) fn begin_idle(&mut self, picked: Vec<(String, String, String)>) -> Vec<Effect> {
        let mut groups = Vec::new();
        let mut names = Vec::new();
        let mut sites: Vec<String> = Vec::new();
        for (site, id, name) in picked {
            groups.push(id);
            names.push(format!("{name} ({site})"));
            if !sites.contains(&site) {
                sites.push(site);
            }
        }
        if groups.is_empty() {
            self.say(Level::Warn, "mark delivery groups first (groups view)");
            return Vec::new();
        }
        let site = match &sites[..] {
            [one] => Some(one.clone()),
            _ => None,
        };
        let title = format!(
            "Power off idle: {}",
            if names.len() == 1 {
                names[0].clone()
            } else {
                count(names.len(), "group")
            }
        );
        self.mode = Mode::Prompt(Box::new(Prompt {
            title,
            prompt: "No session for more than how many minutes?".into(),
            input: InputState::new(DEFAULT_MINUTES),
            error: None,
            then: PromptFor::IdleMinutes {
                groups,
                names,
                site,
            },
        }));
        self.dirty = true;
        Vec::new()
    }

    /// The threshold was typed: asks the adapter for the preview.
    pub(crate) fn idle_minutes_done(
        &mut self,
        mut prompt: Prompt,
        text: &str,
        groups: Vec<String>,
        site: Option<String>,
    ) -> Vec<Effect> {
        let minutes = match text.parse::<u32>() {
            Ok(m) if (1..=MAX_MINUTES).contains(&m) => m,
            _ => {
                prompt.error = Some(format!("whole minutes, 1 to {MAX_MINUTES}"));
                self.mode = Mode::Prompt(Box::new(prompt));
                return Vec::new();
            }
        };
        self.mode = Mode::Normal;
        self.dirty = true;
        self.say(Level::Info, format!("{TITLE}: asking the adapter which…"));
        vec![Effect::IdlePreview(IdleRequest {
            delivery_groups: groups,
            site,
            idle_minutes: minutes,
            dry_run: true,
        })]
    }

    /// The preview came back: the confirmation dialog with what would happen, or why nothing
    /// would.
    pub(crate) fn idle_previewed(
        &mut self,
        request: IdleRequest,
        result: Result<Box<IdleAnswer>, Failure>,
    ) -> Vec<Effect> {
        self.dirty = true;
        let answer = match result {
            Ok(answer) => answer,
            Err(failure) => {
                self.say(Level::Error, format!("{TITLE}: {}", failure.message));
                return Vec::new();
            }
        };
        if !matches!(self.mode, Mode::Normal) {
            // The operator moved on to something else meanwhile; do not pop up over it.
            self.say(
                Level::Info,
                format!("{TITLE}: preview ready; press the key again"),
            );
            return Vec::new();
        }
        let skipped = skip_summary(&answer);
        if answer.candidates.is_empty() {
            self.say(
                Level::Info,
                format!(
                    "{TITLE}: nothing to shut down (idle more than {} min){}",
                    request.idle_minutes,
                    if skipped.is_empty() {
                        String::new()
                    } else {
                        format!("; skipped {skipped}")
                    }
                ),
            );
            return Vec::new();
        }
        let mut question = format!(
            "Shut down {} with no session for more than {} min?",
            count(answer.candidates.len(), "machine"),
            request.idle_minutes
        );
        if !skipped.is_empty() {
            question = format!("{question} Skipped {skipped}.");
        }
        let mut lines: Vec<String> = answer
            .candidates
            .iter()
            .map(|c| {
                format!(
                    "{} ({}) idle {}",
                    c.name,
                    c.site,
                    minutes_text(c.idle_minutes)
                )
            })
            .collect();
        lines.extend(
            answer
                .skipped
                .iter()
                .map(|s| format!("skip {} ({}): {}", s.name, s.site, s.reason)),
        );
        let real = IdleRequest {
            dry_run: false,
            ..request
        };
        self.mode = Mode::Confirm {
            pending: Box::new(Pending {
                title: TITLE.into(),
                question,
                targets: lines,
                work: PendingWork::IdlePowerOff(real),
            }),
            // The count to type is the machines' count, not the lines'.
            state: ConfirmState::new(answer.candidates.len()),
        };
        Vec::new()
    }
}

/// `6: 4 session, 2 maintenance`, by how many machines each reason holds back.
fn skip_summary(answer: &IdleAnswer) -> String {
    if answer.skipped.is_empty() {
        return String::new();
    }
    let mut by: BTreeMap<&str, usize> = BTreeMap::new();
    for s in &answer.skipped {
        *by.entry(s.code.as_str()).or_default() += 1;
    }
    let mut parts: Vec<(usize, &str)> = by.into_iter().map(|(code, n)| (n, code)).collect();
    parts.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let listed: Vec<String> = parts
        .iter()
        .map(|(n, code)| format!("{n} {}", code.replace('_', " ")))
        .collect();
    format!("{}: {}", answer.skipped.len(), listed.join(", "))
}

/// `3 h 12 min`, `45 min`.
pub(crate) fn minutes_text(minutes: i64) -> String {
    let minutes = minutes.max(0);
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::client::{IdleCandidate, IdleSkipped};

    fn answer(candidates: usize, skipped: &[&str]) -> IdleAnswer {
        IdleAnswer {
            dry_run: true,
            idle_minutes: 60,
            delivery_groups: vec!["London/London Pooled Desktops".into()],
            candidates: (0..candidates)
                .map(|i| IdleCandidate {
                    site: "London".into(),
                    id: format!("m{i}"),
                    name: format!("LAB\\VDI-{i}"),
                    delivery_group: "London Pooled Desktops".into(),
                    last_connection_time: None,
                    idle_minutes: 75,
                    reason: "idle".into(),
                })
                .collect(),
            skipped: skipped
                .iter()
                .enumerate()
                .map(|(i, code)| IdleSkipped {
                    site: "London".into(),
                    id: format!("s{i}"),
                    name: format!("LAB\\VDI-S{i}"),
                    delivery_group: "London Pooled Desktops".into(),
                    code: (*code).into(),
                    reason: format!("because {code}"),
                })
                .collect(),
            job: None,
        }
    }

    use crate::console::app::tests::{app, now};
    use crate::console::app::{Loaded, Msg, Tone};
    use crate::console::keymap::View;
    use crate::model::Role;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
        app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)), now())
    }

    /// The groups view with two groups of London.
    fn groups(app: &mut App) {
        let effects = press(app, KeyCode::Char('4'));
        let Some(Effect::Load { generation, .. }) = effects
            .into_iter()
            .find(|e| matches!(e, Effect::Load { .. }))
        else {
            panic!("the groups view should load");
        };
        let columns = crate::console::app::convert::columns(View::Groups).len();
        let rows = ["London Pooled Desktops", "London Office Apps"]
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let mut cells = vec![String::new(); columns];
                cells[0] = (*name).into();
                cells[1] = "London".into();
                Row::new(
                    RowRef::Group {
                        site: "London".into(),
                        id: format!("g{i}"),
                    },
                    cells,
                    Tone::Plain,
                )
            })
            .collect();
        app.update(
            Msg::Loaded {
                view: View::Groups,
                generation,
                result: Ok(Loaded { rows, note: None }),
            },
            now(),
        );
    }

    #[test]
    fn the_key_previews_then_confirming_runs_it_for_real() {
        let mut app = app(Role::Admin, false);
        groups(&mut app);
        press(&mut app, KeyCode::Char(' '));
        assert!(press(&mut app, KeyCode::Char('o')).is_empty());
        assert!(matches!(app.mode, Mode::Prompt(_)));
        // Replace the offered 60 with 90.
        press(&mut app, KeyCode::Backspace);
        press(&mut app, KeyCode::Backspace);
        press(&mut app, KeyCode::Char('9'));
        press(&mut app, KeyCode::Char('0'));
        let effects = press(&mut app, KeyCode::Enter);
        let expected = IdleRequest {
            delivery_groups: vec!["g0".into()],
            site: Some("London".into()),
            idle_minutes: 90,
            dry_run: true,
        };
        assert_eq!(effects, vec![Effect::IdlePreview(expected.clone())]);
        app.update(
            Msg::IdlePreviewed {
                request: expected.clone(),
                result: Ok(Box::new(answer(2, &["session"]))),
            },
            now(),
        );
        let Mode::Confirm { pending, .. } = &app.mode else {
            panic!("the preview opens the confirmation: {:?}", app.mode);
        };
        assert!(
            pending.question.contains("2 machines"),
            "{}",
            pending.question
        );
        assert!(
            pending.question.contains("Skipped 1: 1 session"),
            "{}",
            pending.question
        );
        assert!(
            pending
                .targets
                .iter()
                .any(|t| t.contains("skip LAB\\VDI-S0 (London): because session"))
        );
        let effects = press(&mut app, KeyCode::Char('y'));
        assert_eq!(
            effects,
            vec![Effect::IdleRun {
                what: TITLE.into(),
                request: IdleRequest {
                    dry_run: false,
                    ..expected
                },
            }]
        );
    }

    #[test]
    fn lower_roles_and_readonly_have_no_key_and_bad_minutes_are_refused() {
        for (role, readonly) in [(Role::Helpdesk, false), (Role::Admin, true)] {
            let mut app = app(role, readonly);
            groups(&mut app);
            assert!(press(&mut app, KeyCode::Char('o')).is_empty());
            assert!(matches!(app.mode, Mode::Normal), "{role:?} {readonly}");
        }
        let mut app = app(Role::Admin, false);
        groups(&mut app);
        press(&mut app, KeyCode::Char('o'));
        press(&mut app, KeyCode::Char('x'));
        assert!(press(&mut app, KeyCode::Enter).is_empty());
        let Mode::Prompt(prompt) = &app.mode else {
            panic!("the prompt stays open");
        };
        assert!(
            prompt
                .error
                .as_deref()
                .is_some_and(|e| e.contains("whole minutes"))
        );
        // Nothing to do: a flash, no dialog.
        app.mode = Mode::Normal;
        let request = IdleRequest {
            delivery_groups: vec!["g0".into()],
            site: None,
            idle_minutes: 60,
            dry_run: true,
        };
        app.update(
            Msg::IdlePreviewed {
                request,
                result: Ok(Box::new(answer(0, &["maintenance"]))),
            },
            now(),
        );
        assert!(matches!(app.mode, Mode::Normal));
        let flash = app
            .flash
            .as_ref()
            .map(|f| f.text.clone())
            .unwrap_or_default();
        assert!(flash.contains("nothing to shut down"), "{flash}");
    }

    #[test]
    fn skipped_machines_are_summed_up_by_reason() {
        let a = answer(1, &["session", "maintenance", "session"]);
        assert_eq!(skip_summary(&a), "3: 2 session, 1 maintenance");
        assert_eq!(skip_summary(&answer(1, &[])), "");
        assert_eq!(minutes_text(75), "1 h 15 min");
        assert_eq!(minutes_text(120), "2 h");
        assert_eq!(minutes_text(-3), "0 min");
    }
}
