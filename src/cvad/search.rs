//! Building `$search` requests (`MachineAndSessionSearchRequestModel`): filters of property,
//! operator and value, combined with AND (the default) or OR.

use super::wire::{SearchFilter, SearchRequest, SortCriteria};

/// Search properties deskbridge uses (the API knows many more; any name can be passed).
pub mod property {
    pub const USER_NAME: &str = "UserName";
    pub const USER_PRINCIPAL_NAME: &str = "UserPrincipalName";
    pub const USER_DISPLAY_NAME: &str = "UserDisplayName";
    pub const MACHINE_NAME: &str = "MachineName";
    pub const DNS_NAME: &str = "DnsName";
    pub const DELIVERY_GROUP: &str = "DeliveryGroup";
    pub const MACHINE_CATALOG: &str = "MachineCatalog";
    pub const SESSION_STATE: &str = "SessionState";
    pub const SUMMARY_STATE: &str = "SummaryState";
    pub const POWER_STATE: &str = "PowerState";
    pub const REGISTRATION_STATE: &str = "RegistrationState";
    pub const IN_MAINTENANCE_MODE: &str = "InMaintenanceMode";
    pub const FAULT_STATE: &str = "FaultState";
    pub const CLIENT_NAME: &str = "ClientName";
    pub const ZONE_NAME: &str = "ZoneName";
}

/// `SearchOperator` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SearchOp {
    Equals,
    NotEquals,
    LessThan,
    GreaterThan,
    LessThanOrEquals,
    GreaterThanOrEquals,
    Like,
    NotLike,
    StartsWith,
    EndsWith,
    Contains,
    NotContains,
    In,
    NotIn,
}

impl SearchOp {
    pub fn as_str(self) -> &'static str {
        match self {
            SearchOp::Equals => "Equals",
            SearchOp::NotEquals => "NotEquals",
            SearchOp::LessThan => "LessThan",
            SearchOp::GreaterThan => "GreaterThan",
            SearchOp::LessThanOrEquals => "LessThanOrEquals",
            SearchOp::GreaterThanOrEquals => "GreaterThanOrEquals",
            SearchOp::Like => "Like",
            SearchOp::NotLike => "NotLike",
            SearchOp::StartsWith => "StartsWith",
            SearchOp::EndsWith => "EndsWith",
            SearchOp::Contains => "Contains",
            SearchOp::NotContains => "NotContains",
            SearchOp::In => "In",
            SearchOp::NotIn => "NotIn",
        }
    }
}

/// One filter: `property operator value`.
pub fn filter(property: &str, op: SearchOp, value: impl Into<String>) -> SearchFilter {
    SearchFilter {
        property: property.to_string(),
        value: value.into(),
        operator: op.as_str().to_string(),
    }
}

/// An `In` filter over several values (sent comma-separated).
pub fn filter_in<S: AsRef<str>>(property: &str, values: &[S]) -> SearchFilter {
    let joined = values
        .iter()
        .map(|v| v.as_ref())
        .collect::<Vec<_>>()
        .join(",");
    filter(property, SearchOp::In, joined)
}

/// Builder for a [`SearchRequest`].
#[derive(Debug, Clone, Default)]
pub struct Search(SearchRequest);

impl Search {
    pub fn new() -> Self {
        Search::default()
    }

    /// Adds a filter (all filters must match unless [`Self::match_any`] is used).
    pub fn filter(mut self, property: &str, op: SearchOp, value: impl Into<String>) -> Self {
        self.0.search_filters.push(filter(property, op, value));
        self
    }

    /// Adds a prebuilt filter.
    pub fn with(mut self, filter: SearchFilter) -> Self {
        self.0.search_filters.push(filter);
        self
    }

    /// Free text matched against the names the API searches by default.
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.0.basic_search_string = Some(text.into());
        self
    }

    /// Matches when any filter matches (OR) instead of all (AND).
    pub fn match_any(mut self) -> Self {
        self.0.search_filter_groups_type = Some("Or".to_string());
        self
    }

    pub fn sort_by(mut self, property: &str, descending: bool) -> Self {
        self.0.sort_criteria = Some(SortCriteria {
            property: property.to_string(),
            sort_direction: if descending {
                "Descending"
            } else {
                "Ascending"
            }
            .to_string(),
        });
        self
    }

    pub fn build(self) -> SearchRequest {
        self.0
    }
}

impl From<Search> for SearchRequest {
    fn from(search: Search) -> Self {
        search.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_wire_shape() {
        let request = Search::new()
            .filter(property::USER_NAME, SearchOp::Equals, "LAB\\alice")
            .with(filter_in(
                property::SESSION_STATE,
                &["Active", "Disconnected"],
            ))
            .sort_by(property::MACHINE_NAME, false)
            .build();
        let json = serde_json::to_value(&request).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({
                "SearchFilters": [
                    {"Property": "UserName", "Value": "LAB\\alice", "Operator": "Equals"},
                    {"Property": "SessionState", "Value": "Active,Disconnected", "Operator": "In"}
                ],
                "SortCriteria": {"Property": "MachineName", "SortDirection": "Ascending"}
            })
        );
        let any = Search::new().text("vdi").match_any().build();
        assert_eq!(any.search_filter_groups_type.as_deref(), Some("Or"));
        assert_eq!(any.basic_search_string.as_deref(), Some("vdi"));
    }
}
