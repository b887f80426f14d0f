//! `sys_choice` rows: state models, hold reasons, close codes, stages and request states.
//! Task-family labels live on `task` and are inherited by its tables, as in ServiceNow.

use super::{put, stable_id};
use crate::lab::servicenow::store::Db;

const TASK_STATES: &[(&str, &str)] = &[
    ("-5", "Pending"),
    ("1", "Open"),
    ("2", "Work in Progress"),
    ("3", "Closed Complete"),
    ("4", "Closed Incomplete"),
    ("7", "Closed Skipped"),
];

const INCIDENT_STATES: &[(&str, &str)] = &[
    ("1", "New"),
    ("2", "In Progress"),
    ("3", "On Hold"),
    ("6", "Resolved"),
    ("7", "Closed"),
    ("8", "Canceled"),
];

const STAGES: &[(&str, &str)] = &[
    ("waiting_for_approval", "Waiting for Approval"),
    ("request_approved", "Request Approved"),
    ("fulfillment", "Fulfillment"),
    ("delivery", "Delivery"),
    ("complete", "Completed"),
    ("Request Cancelled", "Request Cancelled"),
];

const REQUEST_STATES: &[(&str, &str)] = &[
    ("requested", "Pending Approval"),
    ("in_process", "Approved"),
    ("closed_complete", "Closed Complete"),
    ("closed_incomplete", "Closed Incomplete"),
    ("closed_cancelled", "Closed Cancelled"),
    ("closed_rejected", "Closed Rejected"),
    ("closed_skipped", "Closed Skipped"),
];

const REQUEST_STAGES: &[(&str, &str)] = &[
    ("requested", "Requested"),
    ("waiting_for_approval", "Waiting for Approval"),
    ("fulfillment", "Fulfillment"),
    ("closed_complete", "Closed Complete"),
    ("closed_incomplete", "Closed Incomplete"),
    ("closed_skipped", "Closed Skipped"),
];

const CLOSE_CODES: &[(&str, &str)] = &[
    ("Duplicate", "Duplicate"),
    ("Known error", "Known error"),
    ("No resolution provided", "No resolution provided"),
    ("Resolved by caller", "Resolved by caller"),
    ("Resolved by change", "Resolved by change"),
    ("Resolved by problem", "Resolved by problem"),
    ("Resolved by request", "Resolved by request"),
    ("Solution provided", "Solution provided"),
    ("Workaround provided", "Workaround provided"),
];

const HOLD_REASONS: &[(&str, &str)] = &[
    ("1", "Awaiting Caller"),
    ("3", "Awaiting Problem"),
    ("4", "Awaiting Vendor"),
    ("5", "Awaiting Change"),
];

const IMPACT: &[(&str, &str)] = &[("1", "1 - High"), ("2", "2 - Medium"), ("3", "3 - Low")];

const PRIORITY: &[(&str, &str)] = &[
    ("1", "1 - Critical"),
    ("2", "2 - High"),
    ("3", "3 - Moderate"),
    ("4", "4 - Low"),
    ("5", "5 - Planning"),
];

const CATEGORY: &[(&str, &str)] = &[
    ("inquiry", "Inquiry / Help"),
    ("software", "Software"),
    ("hardware", "Hardware"),
    ("network", "Network"),
    ("database", "Database"),
];

const CONTACT: &[(&str, &str)] = &[
    ("email", "Email"),
    ("phone", "Phone"),
    ("self-service", "Self-service"),
    ("virtual_agent", "Virtual Agent"),
    ("walk-in", "Walk-in"),
];

const APPROVAL: &[(&str, &str)] = &[
    ("not requested", "Not Yet Requested"),
    ("requested", "Requested"),
    ("approved", "Approved"),
    ("rejected", "Rejected"),
];

const VARIABLE_TYPES: &[(&str, &str)] = &[
    ("1", "Yes / No"),
    ("2", "Multi Line Text"),
    ("5", "Select Box"),
    ("6", "Single Line Text"),
    ("8", "Reference"),
    ("9", "Date"),
    ("21", "List Collector"),
    ("25", "Masked"),
];

/// (value, label) pairs of one choice list.
type Choices = &'static [(&'static str, &'static str)];

const LISTS: &[(&str, &str, Choices)] = &[
    ("task", "state", TASK_STATES),
    ("task", "impact", IMPACT),
    ("task", "urgency", IMPACT),
    ("task", "priority", PRIORITY),
    ("task", "contact_type", CONTACT),
    ("task", "approval", APPROVAL),
    ("incident", "state", INCIDENT_STATES),
    ("incident", "incident_state", INCIDENT_STATES),
    ("incident", "hold_reason", HOLD_REASONS),
    ("incident", "close_code", CLOSE_CODES),
    ("incident", "category", CATEGORY),
    ("sc_request", "state", TASK_STATES),
    ("sc_request", "request_state", REQUEST_STATES),
    ("sc_request", "stage", REQUEST_STAGES),
    ("sc_req_item", "state", TASK_STATES),
    ("sc_req_item", "stage", STAGES),
    ("sc_task", "state", TASK_STATES),
    ("item_option_new", "type", VARIABLE_TYPES),
];

pub fn seed_choices(db: &mut Db, when: &str) {
    for (table, element, choices) in LISTS {
        for (n, (value, label)) in choices.iter().enumerate() {
            let key = format!("{table}.{element}.{value}");
            let sequence = (n * 10).to_string();
            put(
                db,
                "sys_choice",
                &stable_id("sys_choice", &key),
                &[
                    ("name", table),
                    ("element", element),
                    ("value", value),
                    ("label", label),
                    ("sequence", &sequence),
                    ("inactive", "false"),
                    ("language", "en"),
                ],
                when,
            );
        }
    }
}
