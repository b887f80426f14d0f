//! Lists the large lab's 100,000 sessions through the CVAD client over real HTTP.
//! Target (docs/perf.md): under 2 s for the whole listing.

use criterion::{Criterion, criterion_group, criterion_main};
use deskbridge::cvad::{CvadClient, CvadConfig};
use deskbridge::lab::{Lab, LabOptions, Scale};
use std::time::Duration;

fn list_all_sessions(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let (lab, clients) = runtime.block_on(async {
        let lab = Lab::start(LabOptions {
            scale: Scale::Large,
            ..LabOptions::default()
        })
        .await
        .expect("the large lab starts");
        let clients: Vec<CvadClient> = lab
            .info()
            .sites
            .iter()
            .map(|site| CvadClient::new(CvadConfig::from_lab(site)).expect("valid lab config"))
            .collect();
        for client in &clients {
            client.authenticate().await.expect("lab credentials work");
        }
        (lab, clients)
    });

    let total: usize = runtime.block_on(async {
        let mut total = 0;
        for client in &clients {
            total += client.sessions().await.expect("sessions list").len();
        }
        total
    });
    assert!(
        total >= 100_000,
        "the large lab has 100,000 sessions, found {total}"
    );

    let mut group = c.benchmark_group("lab");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30));
    group.bench_function("list_100k_sessions_all_sites", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut listed = 0;
            for client in &clients {
                listed += client.sessions().await.expect("sessions list").len();
            }
            assert_eq!(listed, total);
        });
    });
    group.finish();
    runtime.block_on(lab.shutdown());
}

criterion_group!(benches, list_all_sessions);
criterion_main!(benches);
