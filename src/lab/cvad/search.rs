//! `$search` filters (`MachineAndSessionSearchRequestModel`) over sessions and machines.
//!
//! Filters are validated up front (unknown property, operator or enum value -> 400), then
//! evaluated per record without allocation beyond the values compared.

use super::error::{ApiError, ApiResult};
use super::state::{MachineRec, SessionRec, SiteState};
use crate::cvad::wire::SearchRequest;
use crate::model::{PowerState, RegistrationState, SessionState, SummaryState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prop {
    UserName,
    UserPrincipalName,
    UserDisplayName,
    MachineName,
    DeliveryGroup,
    MachineCatalog,
    SessionState,
    SummaryState,
    PowerState,
    RegistrationState,
    InMaintenanceMode,
    ZoneName,
}

const PROPS: &[(&str, Prop)] = &[
    ("UserName", Prop::UserName),
    ("UserPrincipalName", Prop::UserPrincipalName),
    ("UserDisplayName", Prop::UserDisplayName),
    ("MachineName", Prop::MachineName),
    ("DeliveryGroup", Prop::DeliveryGroup),
    ("MachineCatalog", Prop::MachineCatalog),
    ("SessionState", Prop::SessionState),
    ("SummaryState", Prop::SummaryState),
    ("PowerState", Prop::PowerState),
    ("RegistrationState", Prop::RegistrationState),
    ("InMaintenanceMode", Prop::InMaintenanceMode),
    ("ZoneName", Prop::ZoneName),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Equals,
    NotEquals,
    Contains,
    NotContains,
    StartsWith,
    EndsWith,
    In,
    NotIn,
}

const OPS: &[(&str, Op)] = &[
    ("Equals", Op::Equals),
    ("NotEquals", Op::NotEquals),
    ("Contains", Op::Contains),
    ("NotContains", Op::NotContains),
    ("StartsWith", Op::StartsWith),
    ("EndsWith", Op::EndsWith),
    ("In", Op::In),
    ("NotIn", Op::NotIn),
];

/// One validated filter; values are lower-cased once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub prop: Prop,
    pub op: Op,
    pub values: Vec<String>,
}

/// A validated search.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Search {
    pub filters: Vec<Filter>,
    pub basic: Option<String>,
}

fn lookup<T: Copy>(table: &[(&str, T)], name: &str) -> Option<T> {
    table
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v)
}

/// `In` takes a JSON array or a comma-separated list.
fn split_values(raw: &str) -> Vec<String> {
    if let Ok(list) = serde_json::from_str::<Vec<String>>(raw) {
        return list.into_iter().map(|v| v.to_lowercase()).collect();
    }
    raw.split(',').map(|v| v.trim().to_lowercase()).collect()
}

fn check_enum(prop: Prop, value: &str) -> ApiResult<()> {
    let ok = match prop {
        Prop::SessionState => SessionState::parse(value).is_some(),
        Prop::SummaryState => SummaryState::parse(value).is_some(),
        Prop::PowerState => PowerState::parse(value).is_some(),
        Prop::RegistrationState => RegistrationState::parse(value).is_some(),
        Prop::InMaintenanceMode => value == "true" || value == "false",
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_enum("Value", value))
    }
}

impl Search {
    pub fn parse(request: &SearchRequest) -> ApiResult<Search> {
        let mut filters = Vec::new();
        for filter in &request.search_filters {
            let prop = lookup(PROPS, &filter.property)
                .ok_or_else(|| ApiError::invalid_enum("Property", &filter.property))?;
            let op = lookup(OPS, &filter.operator)
                .ok_or_else(|| ApiError::invalid_enum("Operator", &filter.operator))?;
            let values = if matches!(op, Op::In | Op::NotIn) {
                split_values(&filter.value)
            } else {
                vec![filter.value.to_lowercase()]
            };
            if matches!(op, Op::Equals | Op::NotEquals | Op::In | Op::NotIn) {
                for value in &values {
                    check_enum(prop, value)?;
                }
            }
            filters.push(Filter { prop, op, values });
        }
        let basic = request
            .basic_search_string
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_lowercase);
        Ok(Search { filters, basic })
    }

    pub fn matches_session(&self, state: &SiteState, session: &SessionRec) -> bool {
        let machine = state.machines.get(session.machine);
        let fields = Fields {
            state,
            machine,
            sessions: Some(std::slice::from_ref(session)),
        };
        self.matches(&fields)
    }

    pub fn matches_machine(&self, state: &SiteState, machine: &MachineRec) -> bool {
        let sessions: Vec<SessionRec> = if self.needs_sessions() {
            machine
                .sessions
                .iter()
                .filter_map(|k| state.sessions.get(k))
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        let fields = Fields {
            state,
            machine: Some(machine),
            sessions: Some(&sessions),
        };
        self.matches(&fields)
    }

    fn needs_sessions(&self) -> bool {
        self.basic.is_some()
            || self.filters.iter().any(|f| {
                matches!(
                    f.prop,
                    Prop::UserName
                        | Prop::UserPrincipalName
                        | Prop::UserDisplayName
                        | Prop::SessionState
                )
            })
    }

    fn matches(&self, fields: &Fields<'_>) -> bool {
        if let Some(basic) = &self.basic {
            let hit = [Prop::UserName, Prop::UserDisplayName, Prop::MachineName]
                .iter()
                .any(|p| fields.values(*p).iter().any(|v| v.contains(basic.as_str())));
            if !hit {
                return false;
            }
        }
        self.filters.iter().all(|f| {
            let values = fields.values(f.prop);
            let any = |test: &dyn Fn(&str, &str) -> bool| {
                values
                    .iter()
                    .any(|v| f.values.iter().any(|w| test(v.as_str(), w.as_str())))
            };
            match f.op {
                Op::Equals | Op::In => any(&|v, w| v == w),
                Op::NotEquals | Op::NotIn => !any(&|v, w| v == w),
                Op::Contains => any(&|v, w| v.contains(w)),
                Op::NotContains => !any(&|v, w| v.contains(w)),
                Op::StartsWith => any(&|v, w| v.starts_with(w)),
                Op::EndsWith => any(&|v, w| v.ends_with(w)),
            }
        })
    }
}

/// The searchable values of one record, lower-cased.
struct Fields<'a> {
    state: &'a SiteState,
    machine: Option<&'a MachineRec>,
    sessions: Option<&'a [SessionRec]>,
}

impl Fields<'_> {
    fn values(&self, prop: Prop) -> Vec<String> {
        let state = self.state;
        let people = || {
            self.sessions
                .unwrap_or(&[])
                .iter()
                .filter_map(|s| state.person(s.person))
                .chain(
                    self.machine
                        .iter()
                        .flat_map(|m| m.assigned.iter())
                        .filter_map(|p| state.person(*p)),
                )
        };
        match prop {
            Prop::UserName => people()
                .flat_map(|p| [p.qualified().to_lowercase(), p.sam.to_lowercase()])
                .collect(),
            Prop::UserPrincipalName => people().map(|p| p.upn.to_lowercase()).collect(),
            Prop::UserDisplayName => people().map(|p| p.display_name.to_lowercase()).collect(),
            Prop::MachineName => self
                .machine
                .map(|m| vec![m.qualified_name().to_lowercase(), m.name.to_lowercase()])
                .unwrap_or_default(),
            Prop::DeliveryGroup => self
                .machine
                .and_then(|m| m.group)
                .and_then(|g| state.groups.get(g))
                .map(|g| vec![g.name.to_lowercase(), g.id.to_lowercase()])
                .unwrap_or_default(),
            Prop::MachineCatalog => self
                .machine
                .and_then(|m| state.catalogs.get(m.catalog))
                .map(|c| vec![c.name.to_lowercase(), c.id.to_lowercase()])
                .unwrap_or_default(),
            Prop::SessionState => self
                .sessions
                .unwrap_or(&[])
                .iter()
                .map(|s| s.state.as_str().to_lowercase())
                .collect(),
            Prop::SummaryState => self
                .machine
                .map(|m| vec![state.summary(m).as_str().to_lowercase()])
                .unwrap_or_default(),
            Prop::PowerState => self
                .machine
                .map(|m| vec![m.power.as_str().to_lowercase()])
                .unwrap_or_default(),
            Prop::RegistrationState => self
                .machine
                .map(|m| vec![m.registration.as_str().to_lowercase()])
                .unwrap_or_default(),
            Prop::InMaintenanceMode => self
                .machine
                .map(|m| vec![m.in_maintenance.to_string()])
                .unwrap_or_default(),
            Prop::ZoneName => self
                .machine
                .and_then(|m| state.zones.get(m.zone))
                .map(|z| vec![z.name.to_lowercase()])
                .unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cvad::wire::SearchFilter;
    use crate::lab::cvad::seed::test_site;

    fn search(filters: &[(&str, &str, &str)]) -> ApiResult<Search> {
        Search::parse(&SearchRequest {
            search_filters: filters
                .iter()
                .map(|(p, o, v)| SearchFilter {
                    property: p.to_string(),
                    operator: o.to_string(),
                    value: v.to_string(),
                })
                .collect(),
            ..SearchRequest::default()
        })
    }

    #[test]
    fn machine_filters_match_what_they_say() {
        let (state, _) = test_site();
        let count = |s: &Search| {
            state
                .machines
                .iter()
                .filter(|m| s.matches_machine(&state, m))
                .count()
        };
        let on = search(&[("PowerState", "Equals", "on")]).expect("valid");
        let not_on = search(&[("PowerState", "NotEquals", "On")]).expect("valid");
        assert_eq!(count(&on) + count(&not_on), state.machines.len());
        assert!(
            state
                .machines
                .iter()
                .filter(|m| on.matches_machine(&state, m))
                .all(|m| m.power == PowerState::On)
        );

        let vdi = search(&[("MachineName", "StartsWith", "LAB\\VDI-")]).expect("valid");
        assert!(count(&vdi) > 0);
        let contains = search(&[("MachineName", "Contains", "vdi-")]).expect("valid");
        assert_eq!(count(&vdi), count(&contains));
        let zone = search(&[("ZoneName", "In", "[\"London\",\"Manchester\"]")]).expect("valid");
        assert_eq!(count(&zone), state.machines.len());
        let both = search(&[
            ("ZoneName", "Equals", "Manchester"),
            ("InMaintenanceMode", "Equals", "true"),
        ])
        .expect("valid");
        assert!(
            state
                .machines
                .iter()
                .filter(|m| both.matches_machine(&state, m))
                .all(|m| m.in_maintenance && m.zone == 1)
        );
    }

    #[test]
    fn session_filters_by_user_and_state() {
        let (state, _) = test_site();
        let first = state.sessions.values().next().expect("a session");
        let person = &state.people[first.person];
        let by_user = search(&[("UserName", "Equals", &person.qualified())]).expect("valid");
        let by_upn =
            search(&[("UserPrincipalName", "Equals", &person.upn.to_uppercase())]).expect("valid");
        let mine: Vec<_> = state
            .sessions
            .values()
            .filter(|s| by_user.matches_session(&state, s))
            .collect();
        assert!(!mine.is_empty());
        assert!(mine.iter().all(|s| s.person == first.person));
        assert_eq!(
            mine.len(),
            state
                .sessions
                .values()
                .filter(|s| by_upn.matches_session(&state, s))
                .count()
        );
        let disc = search(&[("SessionState", "In", "Disconnected")]).expect("valid");
        assert!(
            state
                .sessions
                .values()
                .filter(|s| disc.matches_session(&state, s))
                .all(|s| s.state == SessionState::Disconnected)
        );
    }

    #[test]
    fn bad_filters_are_refused_with_the_right_error() {
        assert_eq!(
            search(&[("Colour", "Equals", "x")])
                .expect_err("property")
                .kind,
            "common/invalidEnum"
        );
        assert_eq!(
            search(&[("PowerState", "Resembles", "On")])
                .expect_err("operator")
                .kind,
            "common/invalidEnum"
        );
        assert_eq!(
            search(&[("PowerState", "Equals", "Sideways")])
                .expect_err("value")
                .kind,
            "common/invalidEnum"
        );
        assert_eq!(
            search(&[("InMaintenanceMode", "Equals", "maybe")])
                .expect_err("bool")
                .kind,
            "common/invalidEnum"
        );
    }
}
