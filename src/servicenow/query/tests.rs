//! Unit tests of the encoded-query builder: every operator, escaping, list rewriting, refusal.
use super::*;

fn enc(q: Query) -> String {
    match q.build() {
        Ok(q) => q.to_string(),
        Err(e) => panic!("query refused: {e}"),
    }
}

#[test]
fn every_operator_encodes() {
    let q = Query::new()
        .eq("a", "1")
        .ne("b", "2")
        .lt("c", "3")
        .le("d", "4")
        .gt("e", "5")
        .ge("f", "6")
        .in_("g", ["7", "8"])
        .not_in("h", ["9", "10"])
        .like("i", "x")
        .not_like("j", "y")
        .starts_with("k", "z")
        .ends_with("l", "w")
        .is_empty("m")
        .is_not_empty("n");
    assert_eq!(
        enc(q),
        "a=1^b!=2^c<3^d<=4^e>5^f>=6^gIN7,8^hNOT IN9,10^iLIKEx^jNOT LIKEy\
         ^kSTARTSWITHz^lENDSWITHw^mISEMPTY^nISNOTEMPTY"
    );
}

#[test]
fn or_variants_and_generic_conditions_encode() {
    let q = Query::new()
        .eq("a", "1")
        .or_ne("a", "2")
        .or_lt("a", "3")
        .or_le("a", "4")
        .or_gt("a", "5")
        .or_ge("a", "6")
        .or_in("a", ["7"])
        .or_not_in("a", ["8"])
        .or_like("a", "9")
        .or_not_like("a", "10")
        .or_starts_with("a", "11")
        .or_ends_with("a", "12")
        .or_is_empty("a")
        .or_is_not_empty("a")
        .cond("b", Op::Le, "1")
        .or_cond("b", Op::IsEmpty, "ignored");
    assert_eq!(
        enc(q),
        "a=1^ORa!=2^ORa<3^ORa<=4^ORa>5^ORa>=6^ORaIN7^ORaNOT IN8^ORaLIKE9^ORaNOT LIKE10\
         ^ORaSTARTSWITH11^ORaENDSWITH12^ORaISEMPTY^ORaISNOTEMPTY^b<=1^ORbISEMPTY"
    );
}

#[test]
fn groups_and_ordering() {
    let q = Query::new()
        .is_empty("short_description")
        .new_query()
        .is_not_empty("description")
        .order_by("number")
        .order_by_desc("category");
    assert_eq!(
        enc(q),
        "short_descriptionISEMPTY^NQdescriptionISNOTEMPTY^ORDERBYnumber^ORDERBYDESCcategory"
    );
    assert_eq!(enc(Query::new().order_by("x")), "ORDERBYx");
    assert_eq!(enc(Query::new()), "");
    // A leading or doubled new_query adds no empty group.
    assert_eq!(
        enc(Query::new()
            .new_query()
            .eq("a", "1")
            .new_query()
            .new_query()),
        "a=1"
    );
}

#[test]
fn queries_combine_with_and() {
    let a = Query::new().eq("a", "1").or_eq("a", "2").order_by("n");
    let b = Query::new().eq("b", "1").new_query().eq("c", "1");
    assert_eq!(enc(a.and(b)), "a=1^ORa=2^b=1^NQa=1^ORa=2^c=1^ORDERBYn");
    assert_eq!(enc(Query::new().and(Query::new().eq("x", "y"))), "x=y");
    assert!(
        Query::new()
            .and(Query::new().eq("bad field", "1"))
            .build()
            .is_err()
    );
}

#[test]
fn carets_are_doubled_and_other_characters_pass() {
    let q = Query::new()
        .eq("a", "x^y")
        .like("b", "^^")
        .eq("c", "=!<> ünï ✓");
    assert_eq!(enc(q), "a=x^^y^bLIKE^^^^^c==!<> ünï ✓");
    assert_eq!(enc(Query::new().in_("a", ["x^", "y"])), "aINx^^,y");
}

#[test]
fn in_values_with_commas_become_or_equalities() {
    let q = Query::new()
        .eq("active", "true")
        .in_("name", ["a", "b,c", "d"]);
    assert_eq!(enc(q), "active=true^nameINa,d^ORname=b,c");
    assert_eq!(enc(Query::new().in_("n", ["x,y"])), "n=x,y");
    let q = Query::new().eq("a", "1").or_in("n", ["p", "q,r"]);
    assert_eq!(enc(q), "a=1^ORnINp^ORn=q,r");
}

#[test]
fn not_in_values_with_commas_become_and_inequalities() {
    let q = Query::new().not_in("name", ["a", "b,c", "d"]);
    assert_eq!(enc(q), "nameNOT INa,d^name!=b,c");
    // OR'ed with a NOT IN rewrite, the OR is distributed so the meaning is kept:
    // a=1 ∨ (n∉{p} ∧ n≠"q,r")  ==  (a=1 ∨ n∉{p}) ∧ (a=1 ∨ n≠"q,r")
    let q = Query::new().eq("a", "1").or_not_in("n", ["p", "q,r"]);
    assert_eq!(enc(q), "a=1^ORnNOT INp^a=1^ORn!=q,r");
    let q = Query::new().not_in("n", ["q,r", "s,t"]).or_eq("a", "1");
    assert_eq!(enc(q), "n!=q,r^ORa=1^n!=s,t^ORa=1");
}

#[test]
fn invalid_fields_are_refused() {
    for bad in ["", "a b", "a^b", "a=b", "state!", "ü", "a,b", "a-b"] {
        assert_eq!(
            Query::new().eq(bad, "1").build(),
            Err(QueryError::InvalidField(bad.to_owned())),
            "{bad:?}"
        );
    }
    assert!(matches!(
        Query::new().order_by("x^y").build(),
        Err(QueryError::InvalidField(_))
    ));
    assert!(matches!(
        Query::new().eq("ORx", "1").build(),
        Err(QueryError::AmbiguousField(_))
    ));
    assert!(Query::new().eq("caller_id.user_name", "x").build().is_ok());
}

#[test]
fn ambiguous_and_empty_operands_are_refused() {
    assert!(matches!(
        Query::new().lt("a", "=5").build(),
        Err(QueryError::AmbiguousValue { .. })
    ));
    assert!(matches!(
        Query::new().in_("a", Vec::<String>::new()).build(),
        Err(QueryError::EmptyList { .. })
    ));
    // `=` after `=`, `<=` or `!=` is unambiguous and allowed.
    assert_eq!(enc(Query::new().eq("a", "=5")), "a==5");
}

#[test]
fn runaway_distribution_is_refused() {
    let mut q = Query::new().not_in("a", (0..40).map(|i| format!("{i},x")));
    for _ in 0..3 {
        q = q.or_not_in("b", (0..40).map(|i| format!("{i},y")));
    }
    assert_eq!(q.build(), Err(QueryError::TooComplex(cnf::MAX_CLAUSES)));
}
