//! The console's `/` filter over 100,000 session rows of 7 cells, as the sessions view holds
//! them. Target (docs/perf.md): under 20 ms per pass, whatever the term.

use criterion::{Criterion, criterion_group, criterion_main};
use deskbridge::console::filter::Filter;
use std::hint::black_box;

const COLUMNS: [&str; 7] = [
    "site", "user", "machine", "state", "client", "started", "id",
];
const ROWS: usize = 100_000;

const SITES: [(&str, &str); 4] = [
    ("London", "LON"),
    ("New York", "NYC"),
    ("Zürich", "ZRH"),
    ("Singapore", "SIN"),
];
const FIRST: [&str; 16] = [
    "james",
    "mary",
    "robert",
    "patricia",
    "john",
    "jennifer",
    "michael",
    "linda",
    "david",
    "elizabeth",
    "émile",
    "sofia",
    "lukas",
    "anna",
    "wei",
    "priya",
];
const LAST: [&str; 16] = [
    "smith",
    "johnson",
    "williams",
    "brown",
    "jones",
    "garcia",
    "miller",
    "davis",
    "müller",
    "schneider",
    "tan",
    "lim",
    "patel",
    "kumar",
    "dubois",
    "rossi",
];
const STATES: [&str; 6] = [
    "Active",
    "Active",
    "Active",
    "Disconnected",
    "Connected",
    "Reconnecting",
];
const CLIENTS: [&str; 4] = ["LAPTOP", "THIN", "MAC", "IPAD"];

/// A small deterministic generator, so every run filters the same rows.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 16) as usize
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.next() % from.len()]
    }
}

fn rows() -> Vec<Box<[Box<str>]>> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    (0..ROWS)
        .map(|i| {
            let (site, code) = SITES[rng.next() % SITES.len()];
            let user = format!("CORP\\{}.{}", rng.pick(&FIRST), rng.pick(&LAST));
            let machine = format!("{code}-VDA-{:04}", rng.next() % 2_500);
            let state = rng.pick(&STATES);
            let client = if state == "Disconnected" {
                String::new()
            } else {
                format!("{}-{:05}", rng.pick(&CLIENTS), rng.next() % 40_000)
            };
            let minute = rng.next() % (24 * 60);
            let started = format!(
                "2026-11-{:02} {:02}:{:02}",
                20 + i % 8,
                minute / 60,
                minute % 60
            );
            let id = format!(
                "{:08x}-{:04x}-4{:03x}",
                rng.next() as u32,
                i % 0xffff,
                rng.next() % 0xfff
            );
            [
                site.to_string(),
                user,
                machine,
                state.to_string(),
                client,
                started,
                id,
            ]
            .map(String::into_boxed_str)
            .into()
        })
        .collect()
}

fn filter_sessions(c: &mut Criterion) {
    let rows = rows();
    let mut group = c.benchmark_group("console_filter_100k");
    for (name, line) in [
        // Plain text: a substring of some rows; every other row is tried fuzzily too.
        ("text", "smith"),
        // A subsequence only (j…s…m…t…h): the fuzzy path decides most rows.
        ("fuzzy", "jsmth"),
        // One column, exact.
        ("field", "state==disconnected"),
        ("combined", "site=lon !state==active müller"),
    ] {
        let filter = match Filter::parse(line, &COLUMNS) {
            Ok(f) => f,
            Err(e) => panic!("{line}: {e}"),
        };
        let kept = filter.apply(rows.iter().map(|r| &r[..])).len();
        println!("{name}: `{line}` keeps {kept} of {ROWS} rows");
        group.bench_function(name, |b| {
            b.iter(|| black_box(filter.apply(black_box(&rows).iter().map(|r| &r[..]))))
        });
    }
    group.finish();
}

criterion_group!(benches, filter_sessions);
criterion_main!(benches);
