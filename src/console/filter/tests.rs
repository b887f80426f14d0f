//! The `/` filter as an operator meets it: which rows stay, what gets underlined, and what
//! a mistyped filter says.

use super::*;

const COLUMNS: [&str; 7] = [
    "site", "user", "machine", "state", "client", "started", "id",
];

fn row(cells: &[&str]) -> Vec<Box<str>> {
    cells.iter().map(|c| Box::from(*c)).collect()
}

fn sample() -> Vec<Vec<Box<str>>> {
    vec![
        row(&[
            "London",
            "CORP\\jsmith",
            "LON-VDA-001",
            "Active",
            "LAPTOP-17",
            "2026-11-27 08:03",
            "s-0001",
        ]),
        row(&[
            "London",
            "CORP\\adoe",
            "LON-VDA-002",
            "Disconnected",
            "",
            "2026-11-27 07:55",
            "s-0002",
        ]),
        row(&[
            "New York",
            "CORP\\mjones",
            "NY-VDA-010",
            "Inactive",
            "THIN-04",
            "2026-11-26 22:10",
            "s-0003",
        ]),
        row(&[
            "Zürich",
            "CORP\\émile.müller",
            "ZH-VDA-003",
            "Active",
            "MAC-Émile",
            "2026-11-27 06:00",
            "s-0004",
        ]),
        row(&[
            "New York",
            "CORP\\ÅSA.LINDQVIST",
            "NY-VDA-011",
            "Connected",
            "IPAD",
            "2026-11-27 09:12",
            "s-0005",
        ]),
    ]
}

fn parse(input: &str) -> Filter {
    match Filter::parse(input, &COLUMNS) {
        Ok(f) => f,
        Err(e) => panic!("{input:?}: {e}"),
    }
}

fn err(input: &str) -> FilterError {
    match Filter::parse(input, &COLUMNS) {
        Ok(f) => panic!("{input:?} parsed: {f:?}"),
        Err(e) => e,
    }
}

/// Row ids (`s-000N` → N) the filter keeps.
fn kept(input: &str) -> Vec<u32> {
    let rows = sample();
    parse(input)
        .apply(rows.iter().map(Vec::as_slice))
        .into_iter()
        .map(|i| i + 1)
        .collect()
}

fn marked(cell: &str, ranges: &[Range<usize>]) -> Vec<String> {
    ranges.iter().map(|r| cell[r.clone()].to_string()).collect()
}

#[test]
fn empty_and_blank_filters_show_every_row() {
    assert_eq!(kept(""), vec![1, 2, 3, 4, 5]);
    assert_eq!(kept("   \t "), vec![1, 2, 3, 4, 5]);
    assert!(parse("  ").is_empty());
    assert!(Filter::default().matches(&row(&["x"])));
}

#[test]
fn a_plain_term_is_a_case_insensitive_substring_of_any_cell() {
    assert_eq!(kept("london"), vec![1, 2]);
    assert_eq!(kept("LAPTOP"), vec![1]);
    assert_eq!(kept("\"vda-01\""), vec![3, 5]);
    // Unquoted, LON-VDA-001 also has v, d, a, -, 0, 1 in order: a fuzzy match.
    assert_eq!(kept("vda-01"), vec![1, 3, 5]);
    assert_eq!(kept("active"), vec![1, 3, 4], "Inactive contains active");
}

#[test]
fn all_terms_must_match() {
    assert_eq!(kept("london active"), vec![1]);
    assert_eq!(kept("york 2026-11-27"), vec![5]);
    assert_eq!(kept("york nothing-like-this"), Vec::<u32>::new());
}

#[test]
fn fuzzy_matches_characters_in_order_within_one_cell() {
    assert_eq!(kept("jsmth"), vec![1]);
    assert_eq!(kept("lnvd0"), vec![1, 2], "LON-VDA-001 / -002");
    // `lonjs` would need London from the site and jsmith from the user: not within a cell.
    assert_eq!(kept("lonjs"), Vec::<u32>::new());
    // Out of order does not match.
    assert_eq!(kept("htimsj"), Vec::<u32>::new());
}

#[test]
fn short_and_quoted_terms_are_never_fuzzy() {
    // `ly` is a subsequence of `LAPTOP-17`… in nearly every row; two letters stay literal.
    assert_eq!(kept("ln"), Vec::<u32>::new());
    assert_eq!(kept("\"jsmth\""), Vec::<u32>::new());
    assert_eq!(kept("\"jsmith\""), vec![1]);
}

#[test]
fn quoted_terms_keep_spaces_and_make_syntax_plain_text() {
    assert_eq!(kept("\"new york\""), vec![3, 5]);
    assert_eq!(kept("\"NEW YORK\" connected"), vec![5]);
    let rows = [row(&["a=b", "!x"]), row(&["ab", "x"])];
    let f = Filter::parse("\"a=b\"", &["k", "v"]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(f.apply(rows.iter().map(Vec::as_slice)), vec![0]);
    let f = Filter::parse("\"!x\"", &["k", "v"]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(f.apply(rows.iter().map(Vec::as_slice)), vec![0]);
}

#[test]
fn backslashes_in_quotes_escape_only_quotes_and_backslashes() {
    assert_eq!(kept(r#""CORP\jsmith""#), vec![1]);
    assert_eq!(kept(r#"user="corp\adoe""#), vec![2]);
    let rows = [row(&["say \"hi\""]), row(&["a\\b"])];
    let f = Filter::parse(r#""\"hi\"""#, &["text"]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(f.apply(rows.iter().map(Vec::as_slice)), vec![0]);
    let f = Filter::parse(r#""a\\b""#, &["text"]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(f.apply(rows.iter().map(Vec::as_slice)), vec![1]);
}

#[test]
fn field_terms_look_at_one_column_only() {
    assert_eq!(kept("site=york"), vec![3, 5]);
    assert_eq!(kept("machine=lon"), vec![1, 2]);
    // `lon` is in the site and machine columns, not the user column.
    assert_eq!(kept("user=lon"), Vec::<u32>::new());
    assert_eq!(
        kept("SITE=LONDON"),
        vec![1, 2],
        "field and value ignore case"
    );
}

#[test]
fn field_names_can_be_shortened_to_a_unique_prefix() {
    assert_eq!(kept("u=jones"), vec![3]);
    assert_eq!(kept("mach=ny"), vec![3, 5]);
    assert_eq!(kept("cl=ipad"), vec![5]);
}

#[test]
fn double_equals_is_exact_and_not_equals_its_negation() {
    assert_eq!(kept("state=active"), vec![1, 3, 4]);
    assert_eq!(kept("state==active"), vec![1, 4]);
    assert_eq!(kept("state==ACTIVE"), vec![1, 4]);
    assert_eq!(kept("state!=active"), vec![2, 3, 5]);
    assert_eq!(kept("site==\"new york\""), vec![3, 5]);
    assert_eq!(kept("site==new"), Vec::<u32>::new());
}

#[test]
fn quoted_empty_values_find_empty_and_non_empty_cells() {
    assert_eq!(kept("client==\"\""), vec![2]);
    assert_eq!(kept("client!=\"\""), vec![1, 3, 4, 5]);
}

#[test]
fn bang_inverts_any_term() {
    assert_eq!(kept("!london"), vec![3, 4, 5]);
    assert_eq!(kept("!site=london"), vec![3, 4, 5]);
    assert_eq!(kept("!state==active"), vec![2, 3, 5]);
    assert_eq!(kept("!state!=active"), vec![1, 4], "two negations cancel");
    assert_eq!(kept("!\"new york\" !london"), vec![4]);
    // An inverted term is never fuzzy-rescued: `!jsmth` drops jsmith.
    assert_eq!(kept("!jsmth"), vec![2, 3, 4, 5]);
}

#[test]
fn non_ascii_cells_and_needles_ignore_case() {
    assert_eq!(kept("zürich"), vec![4]);
    assert_eq!(kept("ZÜRICH"), vec![4]);
    assert_eq!(kept("ÉMILE"), vec![4]);
    assert_eq!(kept("åsa.lind"), vec![5]);
    assert_eq!(kept("user=müller"), vec![4]);
    // An ASCII needle still finds its text inside a non-ASCII cell.
    assert_eq!(kept("lindqvist"), vec![5]);
    assert_eq!(kept("ller"), vec![4]);
    // Fuzzy across non-ASCII characters.
    assert_eq!(kept("zrch"), vec![4]);
    assert_eq!(kept("mlmllr"), vec![4]);
    // Lowercasing, not folding: ü is not u.
    assert_eq!(kept("zurich"), Vec::<u32>::new());
}

#[test]
fn the_two_letters_whose_lowercase_is_ascii_still_match() {
    // İ lowercases to i + a combining dot, the Kelvin sign to k: the byte fast path hands
    // such cells to the Unicode path instead of missing them.
    let cells = row(&["İSTANBUL", "\u{212A}ELVIN-01"]);
    assert!(parse("\"stanbul\"").matches(&cells));
    assert!(parse("istanbul").matches(&cells), "fuzzy over i, dot, s…");
    assert!(parse("\"kelvin\"").matches(&cells));
    assert!(parse("kelvin").matches(&cells));
    assert!(!parse("\"kelvin-02\"").matches(&cells));
    // Other non-ASCII letters stay on the fast path and still match around them.
    let cells = row(&["CORP\\émile.MÜLLER"]);
    assert!(parse("\"ller\"").matches(&cells));
    assert!(parse("\"mile.m\"").matches(&cells));
    assert!(!parse("\"mile.mu\"").matches(&cells));
}

#[test]
fn rows_shorter_than_the_columns_read_missing_cells_as_empty() {
    let short = row(&["London"]);
    assert!(parse("client==\"\"").matches(&short));
    assert!(!parse("id=s").matches(&short));
    assert!(parse("london").matches(&short));
}

#[test]
fn apply_returns_indices_in_row_order() {
    let rows = sample();
    let f = parse("vda");
    assert_eq!(f.apply(rows.iter().map(Vec::as_slice)), vec![0, 1, 2, 3, 4]);
    assert_eq!(f.text(), "vda");
    assert_eq!(parse("  site=lon  ").text(), "site=lon");
}

#[test]
fn highlights_underline_every_occurrence_of_plain_text() {
    let f = parse("vda");
    let cell = "vda-VDA-x";
    assert_eq!(marked(cell, &f.highlights(2, cell)), ["vda", "VDA"]);
    assert_eq!(f.highlights(2, "LON-01"), Vec::<Range<usize>>::new());
}

#[test]
fn highlights_underline_fuzzy_characters_tightly() {
    let f = parse("lnd");
    // Plain `lnd` is nowhere; the match ending earliest and starting latest is L…n…d.
    let cell = "London";
    assert_eq!(f.highlights(0, cell), vec![0..1, 2..4]);
    assert_eq!(marked(cell, &f.highlights(0, cell)), ["L", "nd"]);
    let cell = "lxxlnd";
    assert_eq!(marked(cell, &f.highlights(0, cell)), ["lnd"]);
}

#[test]
fn highlights_only_mark_the_field_column_for_field_terms() {
    let f = parse("site=lon");
    assert_eq!(marked("London", &f.highlights(0, "London")), ["Lon"]);
    assert!(f.highlights(2, "LON-VDA-001").is_empty());
    let f = parse("state==active");
    assert_eq!(f.highlights(3, "Active"), vec![0..6]);
    assert!(f.highlights(3, "Inactive").is_empty());
}

#[test]
fn inverted_terms_underline_nothing() {
    let f = parse("!london");
    assert!(f.highlights(0, "London").is_empty());
}

#[test]
fn overlapping_terms_merge_into_one_range() {
    let f = parse("lon ndo");
    assert_eq!(f.highlights(0, "London"), vec![0..5]);
}

#[test]
fn highlights_fall_on_char_boundaries_for_non_ascii_text() {
    let f = parse("müller");
    let cell = "CORP\\émile.MÜLLER";
    let ranges = f.highlights(1, cell);
    assert_eq!(marked(cell, &ranges), ["MÜLLER"]);
    let f = parse("emile");
    assert!(
        f.highlights(1, cell).is_empty(),
        "é is not e: no false underline"
    );
    let f = parse("émle");
    for r in f.highlights(1, cell) {
        assert!(cell.is_char_boundary(r.start) && cell.is_char_boundary(r.end));
    }
    assert_eq!(marked(cell, &f.highlights(1, cell)), ["ém", "le"]);
    // A needle that ends inside a char's lowercase (İ → i̇) underlines the whole char.
    let f = parse("i");
    let cell = "İstanbul";
    assert_eq!(marked(cell, &f.highlights(0, cell)), ["İ"]);
}

#[test]
fn row_highlights_skip_fuzzy_when_the_term_matched_as_text() {
    let f = parse("lon");
    let cells = row(&["London", "CORP\\l.o.n", "LON-VDA-001"]);
    let hl = f.row_highlights(&cells);
    assert_eq!(marked(&cells[0], &hl[0]), ["Lon"]);
    assert!(hl[1].is_empty(), "l.o.n is only a fuzzy match");
    assert_eq!(marked(&cells[2], &hl[2]), ["LON"]);
    // Without a plain match anywhere the fuzzy cells are underlined.
    let cells = row(&["Paris", "CORP\\l.o.n"]);
    let hl = f.row_highlights(&cells);
    assert!(hl[0].is_empty());
    assert_eq!(marked(&cells[1], &hl[1]), ["l", "o", "n"]);
}

#[test]
fn unknown_fields_are_errors_that_list_the_fields() {
    let e = err("london sitee=x");
    assert_eq!(e.position(), 7);
    let msg = e.to_string();
    assert!(msg.contains("unknown field `sitee` at 8"), "{msg}");
    assert!(
        msg.contains("site, user, machine, state, client, started, id"),
        "{msg}"
    );
}

#[test]
fn ambiguous_prefixes_name_the_candidates() {
    let e = err("s=x");
    assert!(
        matches!(&e, FilterError::AmbiguousField { candidates, .. }
        if candidates == &["site", "state", "started"]),
        "{e:?}"
    );
    assert!(e.to_string().contains("site or state or started"), "{e}");
    // An exact name wins over being the prefix of another.
    let f = Filter::parse("id=1", &["id", "identity"]).unwrap_or_else(|e| panic!("{e}"));
    assert!(f.matches(&row(&["1", "x"])));
    assert!(!f.matches(&row(&["x", "1"])));
}

#[test]
fn missing_values_and_fields_are_errors() {
    let e = err("site=");
    assert!(
        matches!(e, FilterError::EmptyValue { ref field, at: 0 } if field == "site"),
        "{e:?}"
    );
    assert!(
        e.to_string().contains("site==\"\""),
        "the message says how to find empties: {e}"
    );
    assert!(matches!(err("state=="), FilterError::EmptyValue { .. }));
    assert!(matches!(err("state!="), FilterError::EmptyValue { .. }));
    assert!(
        matches!(err("site=\"\""), FilterError::EmptyValue { .. }),
        "contains \"\" is everything"
    );
    assert!(matches!(err("x =lon"), FilterError::MissingField { at: 2 }));
    assert!(matches!(err("!=x"), FilterError::MissingField { .. }));
}

#[test]
fn quote_and_bang_mistakes_are_errors() {
    let e = err("lon \"new york");
    assert_eq!(e, FilterError::UnterminatedQuote { at: 4 });
    assert!(e.to_string().contains("at 5"), "{e}");
    assert!(matches!(
        err("site=\"lon"),
        FilterError::UnterminatedQuote { at: 5 }
    ));
    assert_eq!(err("lon !"), FilterError::LoneBang { at: 4 });
    assert_eq!(err("! lon"), FilterError::LoneBang { at: 0 });
    assert_eq!(err("!!lon"), FilterError::DoubleBang { at: 0 });
    assert_eq!(err("\"\""), FilterError::EmptyTerm { at: 0 });
    assert_eq!(err("!\"\""), FilterError::EmptyTerm { at: 0 });
}

#[test]
fn error_positions_count_characters_not_bytes() {
    let e = err("zürich nope=1");
    assert_eq!(e.position(), 7);
}
