//! The console's API client against a real adapter on a real lab, over HTTP: tokens and the
//! caller's role, whole-site and paged inventory reads with filters, idempotent jobs and typed
//! refusals, ticket writes, the event stream following a job and surviving an adapter that goes
//! away and comes back (through a proxy the test cuts), and the log of calls.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use deskbridge::config::AdapterConfig;
use deskbridge::console::client::{
    ApiClient, AuditQuery, CallOutcome, ClientOptions, EventPayload, IdempotencyKey, JobQuery,
    JobRequest, ListQuery, NoteVisibility, StreamEvent, StreamOptions, Target, TaskState,
    TicketQuery,
};
use deskbridge::lab::Scale;
use deskbridge::model::{Role, Session, SessionState};
use deskbridge::secret::Secret;
use deskbridge::servicenow::{AuthMode, ServiceNowClient, ServiceNowConfig};
use serde_json::{Map, json};
use tokio::net::{TcpListener, TcpStream};
use uuid::Uuid;

mod support;

use support::{LabAdapter, SECRET};

/// Generous bound for anything the lab does at 20× speed; only reached when something is broken.
const PATIENCE: Duration = Duration::from_secs(60);

/// The shared lab + adapter, with the console's client made for a configured API client.
struct Env(LabAdapter);

impl std::ops::Deref for Env {
    type Target = LabAdapter;
    fn deref(&self) -> &LabAdapter {
        &self.0
    }
}

impl Env {
    async fn start(tune: &dyn Fn(&mut AdapterConfig)) -> Env {
        Env(LabAdapter::start(Scale::Small, tune).await)
    }

    fn addr(&self) -> SocketAddr {
        self.0.server.as_ref().expect("running").local_addr()
    }

    fn client_at(&self, url: &str, name: &str) -> ApiClient {
        ApiClient::new(url, self.id(name).to_string(), Secret::new(SECRET)).expect("client")
    }

    fn client(&self, name: &str) -> ApiClient {
        self.client_at(&self.url, name)
    }

    async fn stop(self) {
        self.0.stop().await;
    }
}

/// Waits (up to [`PATIENCE`]) until `probe` returns Some.
async fn until<T>(what: &str, probe: impl AsyncFnMut() -> Option<T>) -> T {
    support::until(what, PATIENCE, probe).await
}

/// Active sessions of a site, once the adapter has its inventory.
async fn active_sessions(client: &ApiClient, site: &str, n: usize) -> Vec<Session> {
    until("the site's sessions", async || {
        let rows = client.site_sessions(site).await.ok()?;
        let active: Vec<Session> = rows
            .items
            .into_iter()
            .filter(|s| s.state == SessionState::Active && !s.logoff_in_progress)
            .take(n)
            .collect();
        (active.len() == n).then_some(active)
    })
    .await
}

/// The next stream event `pick` accepts; the others are passed to `seen`.
async fn next_where<T>(
    stream: &mut deskbridge::console::client::EventStream,
    seen: &mut Vec<StreamEvent>,
    mut pick: impl FnMut(&StreamEvent) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let event = tokio::time::timeout_at(deadline, stream.recv())
            .await
            .expect("the awaited stream event never came")
            .expect("the stream ended");
        let found = pick(&event);
        seen.push(event);
        if let Some(found) = found {
            return found;
        }
    }
}

fn event_ids(events: &[StreamEvent]) -> Vec<i64> {
    events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::Event(e) => Some(e.id),
            _ => None,
        })
        .collect()
}

/// The id of the event that reports `job` finished, if `event` is it.
fn job_done(event: &StreamEvent, job: Uuid) -> Option<i64> {
    match event {
        StreamEvent::Event(e) => match &e.payload {
            EventPayload::Job(j) if j.job_id == job && j.state.is_terminal() => Some(e.id),
            _ => None,
        },
        _ => None,
    }
}

fn logoff(session: &Session, key: &IdempotencyKey) -> JobRequest {
    JobRequest {
        secrets: Vec::new(),
        action: "session.logoff".to_owned(),
        targets: vec![Target {
            site: "London".to_owned(),
            id: session.id.clone(),
        }],
        ticket: None,
        params: serde_json::Value::Null,
        idempotency_key: key.clone(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_roles_filters_and_typed_errors_with_a_call_log() {
    let env = Env::start(&|_| {}).await;
    let helpdesk = env.client("helpdesk");
    let me = helpdesk.whoami().await.expect("whoami");
    assert_eq!((me.name.as_str(), me.role), ("helpdesk", Role::Helpdesk));
    let viewer = env.client("viewer").whoami().await.expect("whoami");
    assert_eq!(viewer.role, Role::Viewer);

    let sites = helpdesk.sites().await.expect("sites");
    let names: BTreeSet<&str> = sites.iter().map(|s| s.name.as_str()).collect();
    assert!(
        names.contains("London") && names.contains("Cloud"),
        "{names:?}"
    );

    // The whole site in one answer, and the same rows walked page by page.
    active_sessions(&helpdesk, "London", 1).await;
    let whole = helpdesk.site_sessions("London").await.expect("whole site");
    assert_eq!(
        (whole.site.as_str(), whole.total),
        ("London", whole.items.len())
    );
    let all: BTreeSet<String> = whole.items.iter().map(|s| s.id.clone()).collect();
    let mut paged = Vec::new();
    let mut query = ListQuery {
        site: Some("London".into()),
        sort: Some("id".into()),
        limit: Some(37),
        ..ListQuery::default()
    };
    loop {
        let page = helpdesk.sessions(&query).await.expect("a page");
        assert_eq!(page.total, whole.total);
        assert!(page.items.iter().all(|s| s.site == "London"));
        paged.extend(page.items.into_iter().map(|s| s.item.id));
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => break,
        }
    }
    assert_eq!(paged.len(), all.len(), "every row once");
    assert_eq!(paged.iter().cloned().collect::<BTreeSet<_>>(), all);

    // Filters: state, user, text.
    let active = helpdesk
        .sessions(&ListQuery {
            site: Some("London".into()),
            state: Some("active".into()),
            limit: Some(1000),
            ..ListQuery::default()
        })
        .await
        .expect("active sessions");
    let expected = whole
        .items
        .iter()
        .filter(|s| s.state == SessionState::Active)
        .count();
    assert_eq!(active.total, expected);
    assert!(
        active
            .items
            .iter()
            .all(|s| s.item.state == SessionState::Active)
    );
    let user = whole.items[0].user_name.clone();
    let theirs = helpdesk
        .sessions(&ListQuery {
            user: Some(user.clone()),
            ..ListQuery::default()
        })
        .await
        .expect("a user's sessions");
    assert!(theirs.total >= 1);
    assert!(theirs.items.iter().all(|s| s.item.user_name == user));
    let machine = &whole.items[0].machine.name;
    let by_text = helpdesk
        .sessions(&ListQuery {
            q: Some(machine.clone()),
            ..ListQuery::default()
        })
        .await
        .expect("text filter");
    assert!(by_text.items.iter().any(|s| s.item.id == whole.items[0].id));
    let machines = helpdesk
        .machines(&ListQuery {
            site: Some("Cloud".into()),
            limit: Some(5),
            ..ListQuery::default()
        })
        .await
        .expect("machines");
    assert!(machines.items.len() <= 5 && machines.total > 0);
    let groups = helpdesk
        .delivery_groups(&ListQuery::default())
        .await
        .expect("groups");
    assert!(groups.total > 0);
    let users = helpdesk.users(&ListQuery::default()).await.expect("users");
    assert!(users.total > 0);
    let whole_machines = helpdesk.site_machines("Cloud").await.expect("machines");
    assert_eq!(whole_machines.total, whole_machines.items.len());

    // A bad request is a 4xx with the adapter's own words.
    let bad = helpdesk
        .sessions(&ListQuery {
            limit: Some(0),
            ..ListQuery::default()
        })
        .await
        .expect_err("limit=0 is refused");
    assert!(bad.is_rejected() && bad.status() == Some(400), "{bad:?}");
    assert!(bad.message().contains("limit"), "{bad}");
    let atlantis = helpdesk
        .site_sessions("Atlantis")
        .await
        .expect_err("no such site");
    assert_eq!(atlantis.status(), Some(404));
    assert!(atlantis.message().contains("Atlantis"), "{atlantis}");

    // A wrong secret, and an adapter that is not there.
    let intruder = ApiClient::new(
        &env.url,
        env.id("admin").to_string(),
        Secret::new("wrong-secret"),
    )
    .expect("client")
    .whoami()
    .await
    .expect_err("a wrong secret is refused");
    assert_eq!(
        (intruder.status(), intruder.code()),
        (Some(401), Some("invalid_client"))
    );
    assert!(!format!("{intruder:?} {intruder}").contains("wrong-secret"));
    let away = ApiClient::new("http://127.0.0.1:1", env.id("admin"), Secret::new(SECRET))
        .expect("client")
        .whoami()
        .await
        .expect_err("nothing listens on port 1");
    assert!(away.is_adapter_away(), "{away:?}");

    // The call log has every call with its status and latency, and no secret or token.
    let calls = helpdesk.calls().snapshot();
    let find = |path: &str, status: u16| {
        calls
            .iter()
            .find(|c| c.path.starts_with(path) && c.outcome == CallOutcome::Status(status))
    };
    let token = find("/api/v1/token", 200).expect("the token call is logged");
    assert_eq!(token.method, "POST");
    assert!(find("/api/v1/whoami", 200).is_some());
    let refused = find("/api/v1/sessions?limit=0", 400).expect("the refused call is logged");
    assert!(!refused.latency.is_zero());
    assert!(find("/api/v1/sites/Atlantis/sessions", 404).is_some());
    assert!(calls.windows(2).all(|w| w[0].seq < w[1].seq));
    let everything = format!("{calls:?}");
    assert!(!everything.contains(SECRET) && !everything.contains("access_token"));
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tokens_are_renewed_before_they_expire() {
    let env = Env::start(&|c| c.token_ttl = Duration::from_secs(2)).await;
    let viewer = env.client("viewer");
    viewer.whoami().await.expect("first call");
    // Past the first token's expiry: the client renewed it instead of failing.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    viewer
        .whoami()
        .await
        .expect("a call after the first token expired");
    let calls = viewer.calls().snapshot();
    let tokens = calls.iter().filter(|c| c.path == "/api/v1/token").count();
    assert_eq!(tokens, 2, "{calls:#?}");
    assert!(
        calls.iter().all(|c| c.status() == Some(200)),
        "no call was refused: {calls:#?}"
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn jobs_are_idempotent_followed_live_and_refusals_are_typed() {
    let env = Env::start(&|_| {}).await;
    let helpdesk = env.client("helpdesk");
    let mut stream = helpdesk.events(StreamOptions::default());
    let mut seen = Vec::new();
    next_where(&mut stream, &mut seen, |e| {
        matches!(e, StreamEvent::Connected { .. }).then_some(())
    })
    .await;
    let session = active_sessions(&helpdesk, "London", 1).await.remove(0);

    // The same confirmed action sent twice (a retry after a timeout): one job.
    let key = IdempotencyKey::generate();
    let first = helpdesk
        .create_job(&logoff(&session, &key))
        .await
        .expect("job");
    let again = helpdesk
        .create_job(&logoff(&session, &key))
        .await
        .expect("same job");
    assert!(first.created && !again.created);
    assert_eq!(first.job.id, again.job.id);
    assert_eq!(first.job.idempotency_key.as_deref(), Some(key.as_str()));
    let id = first.job.id;

    // Its progress arrives over the stream: the task, then the job's end.
    next_where(&mut stream, &mut seen, |e| job_done(e, id)).await;
    let task_events = seen.iter().filter(|e| {
        matches!(e, StreamEvent::Event(ev) if matches!(&ev.payload,
            EventPayload::Task(t) if t.job_id == id && t.target_id == session.id))
    });
    assert!(task_events.count() >= 1, "{seen:#?}");
    let job = helpdesk.job(id).await.expect("job detail");
    let tasks = job.tasks.expect("tasks in the detail");
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].state, TaskState::Succeeded, "{tasks:?}");
    let listed = helpdesk.jobs(&JobQuery::default()).await.expect("jobs");
    assert!(listed.items.iter().any(|j| j.id == id));

    // Refusals: cancel or retry a finished job, a key reused for another target, an unknown
    // job, an action the role cannot run.
    let cancel = helpdesk.cancel_job(id).await.expect_err("already done");
    assert_eq!(
        (cancel.status(), cancel.code()),
        (Some(409), Some("conflict"))
    );
    assert!(cancel.message().contains("nothing to cancel"), "{cancel}");
    let retry = helpdesk.retry_job(id).await.expect_err("nothing failed");
    assert!(retry.is_rejected() && retry.message().contains("no failed targets"));
    let mut other = logoff(&session, &key);
    other.targets[0].id = "not-the-same-session".to_owned();
    let reused = helpdesk.create_job(&other).await.expect_err("key reused");
    assert_eq!(reused.status(), Some(409));
    assert!(reused.message().contains(key.as_str()), "{reused}");
    let missing = helpdesk
        .cancel_job(Uuid::new_v4())
        .await
        .expect_err("unknown job");
    assert_eq!(missing.status(), Some(404));
    let viewer = env.client("viewer");
    let denied = viewer
        .create_job(&logoff(&session, &IdempotencyKey::generate()))
        .await
        .expect_err("viewers run nothing");
    assert_eq!(denied.status(), Some(403));

    let audit = helpdesk
        .audit(&AuditQuery {
            action: Some("job.create".into()),
            ..AuditQuery::default()
        })
        .await
        .expect("audit");
    assert!(audit.items.iter().any(|e| e.actor_name == "helpdesk"));
    drop(stream);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tickets_are_taken_noted_and_resolved() {
    let env = Env::start(&|_| {}).await;
    let helpdesk = env.client("helpdesk");
    let sn_info = &env.lab.info().servicenow[0];
    let instance = sn_info.name.clone();
    let sn = ServiceNowClient::new(ServiceNowConfig::from_lab(sn_info, AuthMode::Basic))
        .expect("servicenow client");
    let group = sn
        .group_by_name("Service Desk")
        .await
        .expect("group lookup")
        .expect("Service Desk exists");
    let text = format!("Console client {}", Uuid::new_v4().simple());
    let mut fields = Map::new();
    fields.insert("short_description".into(), json!(text));
    fields.insert("assignment_group".into(), json!(group));
    let number = sn
        .insert("incident", &fields)
        .await
        .expect("incident")
        .text("number");

    let row = until("the incident in the queue", async || {
        let query = TicketQuery {
            q: Some(text.clone()),
            ..TicketQuery::default()
        };
        helpdesk
            .tickets(&query)
            .await
            .ok()?
            .items
            .into_iter()
            .next()
    })
    .await;
    assert_eq!(row.number, number);
    assert!(row.assigned_to.is_none() && row.open);

    let taken = helpdesk
        .take_ticket(&instance, &number, None, None)
        .await
        .expect("take");
    assert!(taken.delivered(), "{taken:?}");
    let ticket = taken.ticket.expect("the ticket after the write");
    assert!(ticket.assigned_to.is_some(), "{ticket:?}");
    assert_eq!(ticket.state, "In Progress");
    let note = format!("checked the session {}", Uuid::new_v4().simple());
    let noted = helpdesk
        .note_ticket(&instance, &number, &note, NoteVisibility::WorkNotes)
        .await
        .expect("note");
    assert!(noted.delivered());
    let detail = helpdesk.ticket(&instance, &number).await.expect("detail");
    assert!(detail.live);
    assert!(detail.journal.iter().any(|j| j.value.contains(&note)));
    let resolved = helpdesk
        .resolve_ticket(&instance, &number, "session reset", None)
        .await
        .expect("resolve");
    assert!(resolved.delivered());
    let detail = helpdesk.ticket(&instance, &number).await.expect("detail");
    assert!(!detail.ticket.open, "{:?}", detail.ticket);

    let empty = helpdesk
        .note_ticket(&instance, &number, "  ", NoteVisibility::Comments)
        .await
        .expect_err("an empty note is refused");
    assert_eq!(empty.status(), Some(400));
    let nowhere = helpdesk
        .ticket("atlantis", &number)
        .await
        .expect_err("no such instance");
    assert_eq!(nowhere.status(), Some(404));
    let incident = helpdesk
        .fulfil(&instance, "incident", "0123")
        .await
        .expect_err("incidents are not catalog requests");
    assert!(incident.is_rejected() && incident.message().contains("incidents"));
    env.stop().await;
}

/// A TCP proxy in front of the adapter that the test can cut (open connections dropped, new
/// ones closed at once) and restore: an adapter that goes away and comes back.
struct Proxy {
    url: String,
    up: Arc<AtomicBool>,
    open: Arc<AtomicUsize>,
    cuts: tokio::sync::watch::Sender<u64>,
    task: tokio::task::JoinHandle<()>,
}

/// Counts a proxied connection while it lives.
struct Open(Arc<AtomicUsize>);
impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Proxy {
    async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy port");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let up = Arc::new(AtomicBool::new(true));
        let open = Arc::new(AtomicUsize::new(0));
        let (cuts, _) = tokio::sync::watch::channel(0u64);
        let (up2, open2, cuts2) = (up.clone(), open.clone(), cuts.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !up2.load(Ordering::SeqCst) {
                    continue;
                }
                open2.fetch_add(1, Ordering::SeqCst);
                let guard = Open(open2.clone());
                let mut cut = cuts2.subscribe();
                tokio::spawn(async move {
                    let _guard = guard;
                    let Ok(mut outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Proxy {
            url,
            up,
            open,
            cuts,
            task,
        }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_stream_reconnects_and_resumes_with_nothing_lost_or_repeated() {
    let env = Env::start(&|_| {}).await;
    let proxy = Proxy::start(env.addr()).await;
    let direct = env.client("helpdesk");
    let remote = ApiClient::with_options(
        &proxy.url,
        env.id("viewer"),
        Secret::new(SECRET),
        ClientOptions::default(),
    )
    .expect("client");
    let fast = StreamOptions {
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(800),
        ..StreamOptions::default()
    };
    let mut through = remote.events(fast.clone());
    let mut got = Vec::new();
    let start_at = next_where(&mut through, &mut got, |e| match e {
        StreamEvent::Connected {
            resume_after,
            reconnected: false,
        } => Some(*resume_after),
        _ => None,
    })
    .await;
    // A reference stream straight to the adapter, from the same point.
    let mut reference = direct.events(StreamOptions {
        resume_after: Some(start_at),
        ..fast.clone()
    });
    let mut expected = Vec::new();
    let sessions = active_sessions(&direct, "London", 2).await;

    // A job while connected.
    let a = direct
        .create_job(&logoff(&sessions[0], &IdempotencyKey::generate()))
        .await
        .expect("job a");
    next_where(&mut through, &mut got, |e| job_done(e, a.job.id)).await;

    // The adapter goes away; a job runs and ends meanwhile.
    proxy.cut();
    let reason = next_where(&mut through, &mut got, |e| match e {
        StreamEvent::Reconnecting { reason, .. } => Some(reason.clone()),
        _ => None,
    })
    .await;
    assert!(!reason.is_empty());
    // Everything the stream had before it lost the connection came before this notice.
    let before_cut = *event_ids(&got).last().expect("events before the cut");
    let b = direct
        .create_job(&logoff(&sessions[1], &IdempotencyKey::generate()))
        .await
        .expect("job b");
    let b_done = next_where(&mut reference, &mut expected, |e| job_done(e, b.job.id)).await;

    // Back: the stream says so, resumes after the last event it had, and catches up.
    proxy.restore();
    let resumed = next_where(&mut through, &mut got, |e| match e {
        StreamEvent::Connected {
            resume_after,
            reconnected: true,
        } => Some(*resume_after),
        _ => None,
    })
    .await;
    assert_eq!(resumed, before_cut, "resumed from Last-Event-ID");
    next_where(&mut through, &mut got, |e| match e {
        StreamEvent::Event(ev) if ev.id >= b_done => Some(()),
        _ => None,
    })
    .await;
    let through_ids: Vec<i64> = event_ids(&got)
        .into_iter()
        .filter(|id| *id <= b_done)
        .collect();
    let reference_ids = event_ids(&expected);
    assert!(through_ids.windows(2).all(|w| w[0] < w[1]), "no repeats");
    assert_eq!(through_ids, reference_ids, "nothing lost across the cut");
    assert!(through_ids.iter().any(|id| *id > before_cut));

    // Dropping the stream (and its client) closes the connection.
    drop(through);
    drop(remote);
    until("the proxied connections to close", async || {
        (proxy.open.load(Ordering::SeqCst) == 0).then_some(())
    })
    .await;
    let log = direct.calls().snapshot();
    assert!(
        log.iter()
            .any(|c| c.path == "/api/v1/events" && c.status() == Some(200))
    );
    proxy.task.abort();
    drop(reference);
    env.stop().await;
}
