//! People and groups: `sys_user` rows as [`model::User`](crate::model::User), lookups by login
//! or e-mail, and group sys_ids by name.

use super::error::Error;
use super::query::Query;
use super::record::Record;
use super::table::{DisplayValue, ListParams};
use super::transport::ServiceNowClient;
use crate::model::User;

/// Fields read for a user.
pub const USER_FIELDS: &[&str] = &[
    "sys_id",
    "user_name",
    "name",
    "first_name",
    "last_name",
    "email",
    "active",
    "locked_out",
    "department",
    "location",
    "title",
    "vip",
];

/// A `sys_user` row: the directory view plus what only ServiceNow knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnUser {
    pub sys_id: String,
    /// `user_name` as stored (the login).
    pub user_name: String,
    pub active: bool,
    pub locked_out: bool,
    pub vip: bool,
    pub user: User,
}

impl Record {
    /// Converts a `sys_user` row. Department and location are names when the row was read
    /// with display values, sys_ids otherwise.
    pub fn to_user(&self) -> Result<SnUser, Error> {
        let user_name = self.str("user_name")?.to_owned();
        // Logins come as `sam`, `DOMAIN\sam` or `sam@dns.domain` depending on the instance's
        // directory integration; split out what the other systems join on.
        let (domain, sam, upn) = match (user_name.split_once('\\'), user_name.split_once('@')) {
            (Some((d, s)), _) => (d.to_owned(), s.to_owned(), String::new()),
            (None, Some((s, _))) => (String::new(), s.to_owned(), user_name.clone()),
            (None, None) => (String::new(), user_name.clone(), String::new()),
        };
        let shown = |field: &str| {
            self.display(field)
                .or_else(|| self.value(field))
                .unwrap_or_default()
                .to_owned()
        };
        let name = match self.opt_str("name") {
            Some(n) => n.to_owned(),
            None => format!("{} {}", self.text("first_name"), self.text("last_name"))
                .trim()
                .to_owned(),
        };
        Ok(SnUser {
            sys_id: self.str("sys_id")?.to_owned(),
            user_name,
            active: self.opt_str("active").is_none() || self.bool("active")?,
            locked_out: self.opt_str("locked_out").is_some() && self.bool("locked_out")?,
            vip: self.opt_str("vip").is_some() && self.bool("vip")?,
            user: User {
                sam_name: sam,
                domain,
                upn,
                display_name: name,
                mail: self.text("email"),
                department: shown("department"),
                location: shown("location"),
                ou: String::new(),
                title: self.text("title"),
            },
        })
    }
}

impl ServiceNowClient {
    /// Users matching `query` (with [`USER_FIELDS`], display values for department/location).
    pub async fn users(&self, query: &Query, max: usize) -> Result<Vec<SnUser>, Error> {
        let params = ListParams::new()
            .query(query.build()?)
            .fields(USER_FIELDS.iter().copied())
            .display_value(DisplayValue::All)
            .exclude_reference_link(true)
            .page_size(max.clamp(1, 1000) as u32)
            .max_records(max);
        let rows = self.list("sys_user", &params).await?;
        rows.iter().map(Record::to_user).collect()
    }

    /// The user with this login, if any.
    pub async fn user_by_user_name(&self, user_name: &str) -> Result<Option<SnUser>, Error> {
        let found = self
            .users(&Query::new().eq("user_name", user_name), 1)
            .await?;
        Ok(found.into_iter().next())
    }

    /// The user with this e-mail address, if any (the first, should several share it).
    pub async fn user_by_email(&self, email: &str) -> Result<Option<SnUser>, Error> {
        let found = self.users(&Query::new().eq("email", email), 1).await?;
        Ok(found.into_iter().next())
    }

    /// The sys_id of the group with this name, if any.
    pub async fn group_by_name(&self, name: &str) -> Result<Option<String>, Error> {
        let params = ListParams::new()
            .query(Query::new().eq("name", name).build()?)
            .fields(["sys_id", "name"])
            .page_size(1)
            .max_records(1)
            .no_count(true);
        let rows = self.list("sys_user_group", &params).await?;
        Ok(rows.first().and_then(Record::sys_id).map(str::to_owned))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn users_decode_from_display_value_all() {
        let Value::Object(map) = json!({
            "sys_id": {"display_value": "u1", "value": "u1"},
            "user_name": {"display_value": "alice.smith", "value": "alice.smith"},
            "name": {"display_value": "Alice Smith", "value": "Alice Smith"},
            "email": {"display_value": "alice@lab.example", "value": "alice@lab.example"},
            "active": {"display_value": "true", "value": "true"},
            "locked_out": {"display_value": "false", "value": "false"},
            "department": {"display_value": "Finance", "value": "d1"},
            "location": "",
            "title": "Analyst"
        }) else {
            panic!("object")
        };
        let u = Record::new("lab", "sys_user", DisplayValue::All, map)
            .to_user()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(u.sys_id, "u1");
        assert!(u.active && !u.locked_out && !u.vip);
        assert_eq!(u.user.sam_name, "alice.smith");
        assert_eq!(u.user.display_name, "Alice Smith");
        assert_eq!(u.user.department, "Finance");
        assert_eq!(u.user.location, "");
        assert_eq!(u.user.mail, "alice@lab.example");
    }

    #[test]
    fn qualified_logins_are_split() {
        let Value::Object(map) = json!({"sys_id": "u", "user_name": "LAB\\bob"}) else {
            panic!("object")
        };
        let u = Record::new("lab", "sys_user", DisplayValue::False, map)
            .to_user()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (u.user.domain.as_str(), u.user.sam_name.as_str()),
            ("LAB", "bob")
        );
    }
}
