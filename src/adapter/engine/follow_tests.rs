//! The job watch's bookkeeping of when the jobs it follows should end ([`super::job_eta`]):
//! what the poller's early look is based on; and when the poller reads jobs one by one instead
//! of listing them. The polling itself runs over HTTP in the job tests and the bulk bench.

use std::time::Duration;

use tokio::time::Instant;

use super::*;

fn running(id: &str, progress: Option<u32>) -> Polled {
    Polled::Job(Box::new(state_only(JobState {
        id: id.to_owned(),
        job_type: "LogoffSessions".to_owned(),
        status: JobStatus::InProgress,
        progress,
        is_cancellable: false,
    })))
}

#[test]
fn a_job_never_polled_and_of_an_unmeasured_kind_has_no_expected_end() {
    let watch = JobWatch::default();
    let _follower = watch.follow("j1", "LogoffSessions");
    assert_eq!(watch.all_done_by(), None);
}

#[test]
fn progress_read_by_a_poll_sets_the_expected_end() {
    let watch = JobWatch::default();
    let _follower = watch.follow("j1", "LogoffSessions");
    std::thread::sleep(Duration::from_millis(20));
    let before = Instant::now();
    watch.publish("j1", running("j1", Some(50)));
    let end = watch.all_done_by().expect("an expected end");
    // Half done after at least 20 ms: at least another 20 ms, with the margin.
    assert!(
        end >= before + Duration::from_millis(20),
        "{end:?} {before:?}"
    );
    assert!(end <= Instant::now() + Duration::from_secs(1));
}

#[test]
fn jobs_of_a_measured_kind_are_expected_to_take_as_long() {
    let watch = JobWatch::default();
    let _first = watch.follow("j1", "LogoffSessions");
    std::thread::sleep(Duration::from_millis(20));
    watch.publish("j1", running("j1", Some(50)));
    let _second = watch.follow("j2", "LogoffSessions");
    let both = watch.all_done_by().expect("both have estimates");
    // The newer job, never polled, is expected about 40 ms (the first one's length) after it
    // was followed.
    assert!(
        both >= Instant::now() + Duration::from_millis(30),
        "{both:?}"
    );
    // A job of another kind has no estimate yet, and holds the early look back.
    let _other = watch.follow("j3", "RebootMachines");
    assert_eq!(watch.all_done_by(), None);
}

#[test]
fn a_job_running_without_usable_progress_holds_the_early_look_back() {
    let watch = JobWatch::default();
    let _follower = watch.follow("j1", "LogoffSessions");
    watch.publish("j1", running("j1", Some(50)));
    assert!(watch.all_done_by().is_some());
    watch.publish("j1", running("j1", None));
    assert_eq!(watch.all_done_by(), None);
}

#[test]
fn jobs_nobody_waits_for_any_more_do_not_count() {
    let watch = JobWatch::default();
    let kept = watch.follow("j1", "LogoffSessions");
    watch.publish("j1", running("j1", Some(50)));
    let dropped = watch.follow("j2", "RebootMachines");
    assert_eq!(watch.all_done_by(), None);
    drop(dropped);
    assert!(watch.all_done_by().is_some());
    drop(kept);
    assert_eq!(watch.all_done_by(), None);
}

#[test]
fn followers_see_what_the_poll_read() {
    let watch = JobWatch::default();
    let mut follower = watch.follow("J1", "LogoffSessions");
    watch.publish("j1", running("j1", Some(40)));
    assert!(follower.has_changed().unwrap_or(false));
    match follower.borrow_and_update().clone() {
        Some(Polled::Job(job)) => assert_eq!(job.progress, Some(40)),
        other => panic!("expected the job, got {other:?}"),
    }
}

/// A site of `slots` call slots, rate-limited or not, that is never called.
fn site(slots: usize, rate: Option<f64>) -> SiteCtx {
    let config = crate::cvad::CvadConfig::new(
        "s1",
        crate::model::SiteKind::Onprem,
        "lab",
        "00000000-0000-0000-0000-000000000001",
        vec!["http://127.0.0.1:9".to_owned()],
        crate::cvad::CvadAuth::OnPrem {
            username: "lab".to_owned(),
            password: crate::secret::Secret::new("lab"),
        },
    );
    SiteCtx {
        name: "s1".to_owned(),
        client: crate::cvad::CvadClient::new(config).expect("client"),
        limiter: super::super::rate::TokenBucket::new(rate),
        concurrency: u32::try_from(slots).expect("slots"),
        enabled_in_config: true,
        refresh_pending: AtomicBool::new(false),
        calls: Arc::new(tokio::sync::Semaphore::new(slots)),
        watch: JobWatch::default(),
    }
}

#[test]
fn the_last_jobs_are_read_one_by_one_when_free_slots_cover_them_and_the_listing_is_paged() {
    let site = site(32, None);
    assert!(one_round_trip(&site, 32, 3), "32 free slots, 3 pages");
    assert!(
        !one_round_trip(&site, 33, 3),
        "one read would wait for a slot"
    );
    assert!(!one_round_trip(&site, 5, 1), "one page is one call");
    // Slots held by actions in flight are not free.
    let _busy = site.calls.try_acquire_many(30).expect("slots");
    assert!(!one_round_trip(&site, 5, 3), "2 free slots for 5 jobs");
    assert!(one_round_trip(&site, 2, 3), "2 free slots for 2 jobs");
}

#[test]
fn a_rate_limited_site_keeps_the_listing() {
    let site = site(32, Some(10.0));
    assert!(!one_round_trip(&site, 5, 3));
}
