//! Performs the app's effects against the adapter, each in its own task, and sends the answer
//! back as a message: the event loop never waits on the network, and rows are converted
//! here, off the loop.

use chrono::Utc;
use futures::future::join_all;
use tokio::sync::mpsc::UnboundedSender;

use crate::console::app::msg::{Failure, Loaded, TicketOp};
use crate::console::app::{Effect, Msg, Row, convert};
use crate::console::client::{
    ApiClient, AuditQuery, ClientError, JobQuery, ListQuery, NoteVisibility, Page, TicketQuery,
};
use crate::console::keymap::View;

/// Rows per page when a view reads every page.
const PAGE: u32 = 1000;
/// The tickets, users and groups views stop reading pages here; the title says so.
const MAX_ROWS: usize = 20_000;

pub fn failure(err: &ClientError) -> Failure {
    Failure {
        message: err.message(),
        adapter_away: err.is_adapter_away(),
    }
}

/// Starts one effect. `Quit`, `Suspend` and `Theme` are the loop's own and not sent here.
pub fn spawn(client: &ApiClient, tx: &UnboundedSender<Msg>, effect: Effect) {
    let client = client.clone();
    let tx = tx.clone();
    tokio::spawn(async move {
        if let Some(msg) = perform(&client, effect).await {
            // The loop has ended when the send fails: nothing is waiting for the answer.
            let _ = tx.send(msg);
        }
    });
}

pub async fn perform(client: &ApiClient, effect: Effect) -> Option<Msg> {
    Some(match effect {
        Effect::Whoami => Msg::Whoami(client.whoami().await.map_err(|e| failure(&e))),
        Effect::Load {
            view,
            scope,
            generation,
        } => {
            let result = load(client, view, scope.as_deref())
                .await
                .map_err(|e| failure(&e));
            Msg::Loaded {
                view,
                generation,
                result,
            }
        }
        Effect::LoadTicket(link) => {
            let result = client.ticket(&link.instance, &link.number).await;
            Msg::TicketLoaded {
                link,
                result: result.map(Box::new).map_err(|e| failure(&e)),
            }
        }
        Effect::LoadJob(id) => {
            let result = client.job(id).await;
            Msg::JobLoaded {
                id,
                result: result.map(Box::new).map_err(|e| failure(&e)),
            }
        }
        Effect::Submit { what, request } => {
            let result = client.create_job(&request).await;
            Msg::Submitted {
                what,
                result: result.map(|s| Box::new(s.job)).map_err(|e| failure(&e)),
            }
        }
        Effect::Ticket { link, op } => {
            let (what, result) = match &op {
                TicketOp::Take => (
                    "take",
                    client
                        .take_ticket(&link.instance, &link.number, None, None)
                        .await,
                ),
                TicketOp::Note(text) => (
                    "work note",
                    client
                        .note_ticket(
                            &link.instance,
                            &link.number,
                            text,
                            NoteVisibility::WorkNotes,
                        )
                        .await,
                ),
                TicketOp::Resolve { close_notes } => (
                    "resolve",
                    client
                        .resolve_ticket(&link.instance, &link.number, close_notes, None)
                        .await,
                ),
            };
            // Conflicts and refusals are errors (409, 422) and come back as failures.
            let result = result.map_err(|e| failure(&e)).map(|w| {
                if w.delivered() {
                    "written to ServiceNow".to_owned()
                } else {
                    "queued: ServiceNow is slow or away; it will be delivered".to_owned()
                }
            });
            Msg::Done {
                what: format!("{} {what}", link.number),
                result,
            }
        }
        Effect::Fulfil {
            link,
            table,
            sys_id,
        } => {
            let result = client.fulfil(&link.instance, &table, &sys_id).await;
            let what = format!("fulfil {}", link.number);
            match result {
                Ok(submitted) => Msg::Submitted {
                    what,
                    result: Ok(Box::new(submitted.job)),
                },
                Err(e) => Msg::Submitted {
                    what,
                    result: Err(failure(&e)),
                },
            }
        }
        Effect::CancelJob(id) => {
            let result = client.cancel_job(id).await;
            Msg::Done {
                what: "cancel".into(),
                result: result
                    .map(|j| format!("job is {}", j.state))
                    .map_err(|e| failure(&e)),
            }
        }
        Effect::RetryJob(id) => {
            let result = client.retry_job(id).await;
            Msg::Done {
                what: "retry".into(),
                result: result
                    .map(|j| format!("{} failed targets queued again", j.progress.queued))
                    .map_err(|e| failure(&e)),
            }
        }
        Effect::LoadAccount { domain, user } => {
            let result = client.account(&domain, &user).await;
            Msg::AccountLoaded {
                login: format!("{domain}\\{user}"),
                result: result.map(Box::new).map_err(|e| failure(&e)),
            }
        }
        Effect::LoadPolicy => Msg::PolicyLoaded(
            client
                .password_policy()
                .await
                .map(|answer| Box::new(answer.policy))
                .map_err(|e| failure(&e)),
        ),
        Effect::CheckPassword {
            domain,
            user,
            password,
        } => {
            let result = client.check_password(&domain, &user, &password).await;
            drop(password);
            Msg::PasswordChecked {
                login: format!("{domain}\\{user}"),
                result: result.map_err(|e| failure(&e)),
            }
        }
        Effect::ResetPassword {
            what,
            login,
            request,
        } => {
            let result = client.create_job(&request).await;
            drop(request);
            Msg::PasswordReset {
                what,
                login,
                result: result
                    .map(|s| (Box::new(s.job), s.temporary_password))
                    .map_err(|e| failure(&e)),
            }
        }
        Effect::IdlePreview(request) => {
            let result = client.power_off_idle(&request).await;
            Msg::IdlePreviewed {
                request,
                result: result.map(Box::new).map_err(|e| failure(&e)),
            }
        }
        Effect::IdleRun { what, request } => match client.power_off_idle(&request).await {
            Ok(answer) => match answer.job {
                Some(job) => Msg::Submitted {
                    what,
                    result: Ok(Box::new(job)),
                },
                // Nothing qualified any more when it ran: machines got sessions since.
                None => Msg::Done {
                    what,
                    result: Ok(format!(
                        "nothing to shut down now ({} machines skipped)",
                        answer.skipped.len()
                    )),
                },
            },
            Err(e) => Msg::Submitted {
                what,
                result: Err(failure(&e)),
            },
        },
        Effect::Workflow(effect) => super::workflows::perform(client, effect).await,
        Effect::Runbook(effect) => super::runbooks::perform(client, effect).await,
        Effect::LoadReports => Msg::ReportsLoaded(client.reports().await.map_err(|e| failure(&e))),
        Effect::LoadReport { name, generation } => {
            let result = client.report(&name, &[]).await;
            Msg::ReportLoaded {
                name,
                generation,
                result: result.map(Box::new).map_err(|e| failure(&e)),
            }
        }
        Effect::Theme(_) | Effect::Suspend | Effect::Quit => return None,
    })
}

/// Reads a view's rows. Sessions and machines come a whole site per call (all sites at
/// once, concurrently, when unscoped); other lists are read page by page.
pub async fn load(
    client: &ApiClient,
    view: View,
    scope: Option<&str>,
) -> Result<Loaded, ClientError> {
    let now = Utc::now();
    match view {
        View::Sessions | View::Machines => {
            let sites = match scope {
                Some(site) => vec![site.to_owned()],
                None => client
                    .sites()
                    .await?
                    .into_iter()
                    .filter(|s| s.enabled || s.counts.is_some())
                    .map(|s| s.name)
                    .collect(),
            };
            let reads = sites.iter().map(|site| async move {
                if view == View::Sessions {
                    let got = client.site_sessions(site).await?;
                    let note = stale_note(&got.site, got.degraded, got.data_age);
                    let rows: Vec<Row> = got
                        .items
                        .into_iter()
                        .map(|item| {
                            convert::session(&crate::console::client::Sited {
                                site: got.site.clone(),
                                item,
                            })
                        })
                        .collect();
                    Ok::<_, ClientError>((rows, note))
                } else {
                    let got = client.site_machines(site).await?;
                    let note = stale_note(&got.site, got.degraded, got.data_age);
                    let rows = got
                        .items
                        .into_iter()
                        .map(|item| {
                            convert::machine(&crate::console::client::Sited {
                                site: got.site.clone(),
                                item,
                            })
                        })
                        .collect();
                    Ok((rows, note))
                }
            });
            let mut loaded = Loaded::default();
            let mut notes = Vec::new();
            for result in join_all(reads).await {
                let (rows, note) = result?;
                loaded.rows.extend(rows);
                notes.extend(note);
            }
            loaded.note = (!notes.is_empty()).then(|| notes.join("; "));
            release_freed_memory();
            Ok(loaded)
        }
        View::Sites => Ok(Loaded {
            rows: client.sites().await?.iter().map(convert::site).collect(),
            note: None,
        }),
        View::Groups => {
            let base = list_query(scope);
            paged(|cursor| {
                let query = ListQuery {
                    cursor,
                    ..base.clone()
                };
                async move {
                    Ok(rows_of(
                        client.delivery_groups(&query).await?,
                        convert::group,
                    ))
                }
            })
            .await
        }
        View::Users => {
            let base = list_query(scope);
            paged(|cursor| {
                let query = ListQuery {
                    cursor,
                    ..base.clone()
                };
                async move { Ok(rows_of(client.users(&query).await?, convert::user)) }
            })
            .await
        }
        View::Tickets => {
            let mut base = TicketQuery {
                limit: Some(PAGE),
                ..TicketQuery::default()
            };
            match scope {
                Some("mine") => base.assigned_to = Some("me".into()),
                Some("unassigned") => base.assigned_to = Some("none".into()),
                Some("all") | None => {}
                Some(queue) => base.queue = Some(queue.to_owned()),
            }
            paged(|cursor| {
                let query = TicketQuery {
                    cursor,
                    ..base.clone()
                };
                async move {
                    let page = client.tickets(&query).await?;
                    Ok((
                        page.items.iter().map(|t| convert::ticket(t, now)).collect(),
                        page.next_cursor,
                        page.total,
                    ))
                }
            })
            .await
        }
        View::Jobs => {
            let page = client
                .jobs(&JobQuery {
                    limit: Some(500),
                    ..JobQuery::default()
                })
                .await?;
            let more = page.next_cursor.is_some();
            Ok(Loaded {
                rows: page.items.iter().map(convert::job).collect(),
                note: more.then(|| "the newest 500 jobs".to_owned()),
            })
        }
        View::Audit => {
            let page = client
                .audit(&AuditQuery {
                    limit: Some(500),
                    ..AuditQuery::default()
                })
                .await?;
            let more = page.next_cursor.is_some();
            Ok(Loaded {
                rows: page.items.iter().map(convert::audit).collect(),
                note: more.then(|| "the newest 500 entries".to_owned()),
            })
        }
    }
}

/// The inventory list query of a view: its site, if scoped, and full pages.
fn list_query(site: Option<&str>) -> ListQuery {
    ListQuery {
        site: site.map(str::to_owned),
        limit: Some(PAGE),
        ..ListQuery::default()
    }
}

/// One page as [`paged`] takes it: its rows, the next cursor and the total.
fn rows_of<T>(page: Page<T>, convert: impl Fn(&T) -> Row) -> (Vec<Row>, Option<String>, usize) {
    (
        page.items.iter().map(convert).collect(),
        page.next_cursor,
        page.total,
    )
}

/// Reads pages until the last (or [`MAX_ROWS`]).
async fn paged<F, Fut>(mut page: F) -> Result<Loaded, ClientError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<Row>, Option<String>, usize), ClientError>>,
{
    let mut loaded = Loaded::default();
    let mut cursor = None;
    loop {
        let (rows, next, total) = page(cursor).await?;
        loaded.rows.extend(rows);
        match next {
            Some(next) if loaded.rows.len() < MAX_ROWS => cursor = Some(next),
            Some(_) => {
                loaded.note = Some(format!(
                    "the first {} of {total}; filter at the adapter with :",
                    loaded.rows.len()
                ));
                return Ok(loaded);
            }
            None => return Ok(loaded),
        }
    }
}

fn stale_note(site: &str, degraded: bool, age: Option<u64>) -> Option<String> {
    degraded.then(|| {
        let age = age.map_or_else(String::new, |a| {
            format!(
                ", {} old",
                convert::age(chrono::Duration::seconds(a as i64))
            )
        });
        format!("{site}: no connector answers; last known data{age}")
    })
}

/// Gives freed heap pages back to the system. Decoding a site's 100,000 sessions frees tens of
/// megabytes of JSON and decoded objects at once (and the previous rows, on a reload); glibc
/// keeps such pages for reuse, which would hold the console's resident size at its peak.
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns unused pages of the allocator's arenas to the system;
    // it takes no pointers and is safe to call from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}
