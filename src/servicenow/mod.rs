//! Client for the ServiceNow Table API.
