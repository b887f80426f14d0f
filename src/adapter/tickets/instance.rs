//! One configured ServiceNow instance as the ticket service uses it: its client, the queue
//! definitions with group and catalog item names resolved to sys_ids, and the adapter's own
//! ServiceNow user.

use std::collections::BTreeMap;

use tokio::sync::Mutex;

use crate::config::{QueueConfig, ServiceNowInstanceConfig};
use crate::model::TicketKind;
use crate::servicenow::{
    Auth, DisplayValue, Error as SnError, ListParams, OAuthGrant, Query, Record, ServiceNowClient,
    format_datetime, ticket_fields,
};

/// A queue with its names resolved: what the poller asks ServiceNow for.
#[derive(Debug, Clone)]
pub struct ResolvedQueue {
    pub name: String,
    pub tables: Vec<TicketKind>,
    pub groups: Vec<String>,
    /// Empty: any catalog item.
    pub items: Vec<String>,
}

pub struct InstanceCtx {
    pub config: ServiceNowInstanceConfig,
    pub client: ServiceNowClient,
    /// Resolved on first use and kept: names rarely change, and a failed lookup is retried.
    queues: Mutex<Option<Vec<ResolvedQueue>>>,
    me: Mutex<Option<Option<String>>>,
    groups: Mutex<BTreeMap<String, String>>,
}

impl std::fmt::Debug for InstanceCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstanceCtx")
            .field("name", &self.config.name)
            .finish_non_exhaustive()
    }
}

/// A ServiceNow sys_id: 32 hex digits. Config values that look like one are used as given.
pub fn is_sys_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl InstanceCtx {
    pub fn new(
        config: ServiceNowInstanceConfig,
        observer: Option<std::sync::Arc<dyn crate::observe::CallObserver>>,
    ) -> Result<InstanceCtx, SnError> {
        let mut sn = config.to_servicenow_config();
        if let Some(observer) = observer {
            sn = sn.with_observer(observer);
        }
        let client = ServiceNowClient::new(sn)?;
        Ok(InstanceCtx {
            config,
            client,
            queues: Mutex::new(None),
            me: Mutex::new(None),
            groups: Mutex::new(BTreeMap::new()),
        })
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The queues with group and item names turned into sys_ids.
    pub async fn queues(&self) -> Result<Vec<ResolvedQueue>, SnError> {
        let mut cached = self.queues.lock().await;
        if let Some(queues) = cached.as_ref() {
            return Ok(queues.clone());
        }
        let mut out = Vec::new();
        for queue in &self.config.queues {
            out.push(self.resolve_queue(queue).await?);
        }
        *cached = Some(out.clone());
        Ok(out)
    }

    async fn resolve_queue(&self, queue: &QueueConfig) -> Result<ResolvedQueue, SnError> {
        let mut groups = Vec::new();
        for group in &queue.assignment_groups {
            match self.group_sys_id(group).await? {
                Some(id) => groups.push(id),
                None => tracing::warn!(
                    instance = %self.config.name, queue = %queue.name, %group,
                    "assignment group not found in ServiceNow; the queue skips it"
                ),
            }
        }
        let mut items = Vec::new();
        for item in &queue.catalog_items {
            let id = if is_sys_id(item) {
                Some(item.clone())
            } else {
                self.client.catalog_item_by_name(item).await?
            };
            match id {
                Some(id) => items.push(id),
                None => tracing::warn!(
                    instance = %self.config.name, queue = %queue.name, %item,
                    "catalog item not found in ServiceNow; the queue skips it"
                ),
            }
        }
        Ok(ResolvedQueue {
            name: queue.name.clone(),
            tables: queue.tables.clone(),
            groups,
            items,
        })
    }

    /// A group's sys_id from its name (or the sys_id itself), cached.
    pub async fn group_sys_id(&self, group: &str) -> Result<Option<String>, SnError> {
        if is_sys_id(group) {
            return Ok(Some(group.to_owned()));
        }
        if let Some(id) = self.groups.lock().await.get(group) {
            return Ok(Some(id.clone()));
        }
        let found = self.client.group_by_name(group).await?;
        if let Some(id) = &found {
            self.groups
                .lock()
                .await
                .insert(group.to_owned(), id.clone());
        }
        Ok(found)
    }

    /// The sys_id of the ServiceNow user the adapter signs in as, when the config names one
    /// (client-credentials sign-ins do not).
    pub async fn me(&self) -> Result<Option<String>, SnError> {
        let mut cached = self.me.lock().await;
        if let Some(me) = cached.as_ref() {
            return Ok(me.clone());
        }
        let user_name = match &self.config.auth {
            Auth::Basic { username, .. } => Some(username.clone()),
            Auth::OAuth {
                grant: OAuthGrant::Password { username, .. },
                ..
            } => Some(username.clone()),
            _ => None,
        };
        let me = match user_name {
            Some(name) => self
                .client
                .user_by_user_name(&name)
                .await?
                .map(|u| u.sys_id),
            None => None,
        };
        *cached = Some(me.clone());
        Ok(me)
    }

    /// A user's sys_id from a login, e-mail or sys_id.
    pub async fn user_sys_id(&self, who: &str) -> Result<Option<String>, SnError> {
        if is_sys_id(who) {
            return Ok(Some(who.to_owned()));
        }
        if let Some(user) = self.client.user_by_user_name(who).await? {
            return Ok(Some(user.sys_id));
        }
        Ok(self.client.user_by_email(who).await?.map(|u| u.sys_id))
    }

    /// The records of one queue table: every open one, or (with `since`) every one changed
    /// since then, open or not, so that closures are seen.
    pub async fn list_queue(
        &self,
        queue: &ResolvedQueue,
        kind: TicketKind,
        since: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Vec<Record>, SnError> {
        if queue.groups.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = Query::new();
        query = match since {
            Some(t) => query.cond(
                "sys_updated_on",
                crate::servicenow::Op::Ge,
                format_datetime(t),
            ),
            None => query.eq("active", "true"),
        };
        query = query.in_("assignment_group", queue.groups.iter().cloned());
        if !queue.items.is_empty() {
            let field = match kind {
                TicketKind::CatalogTask => Some("request_item.cat_item"),
                TicketKind::RequestedItem => Some("cat_item"),
                _ => None,
            };
            if let Some(field) = field {
                query = query.in_(field, queue.items.iter().cloned());
            }
        }
        let query = query.order_by("sys_updated_on").build()?;
        let params = ListParams::new()
            .query(query)
            .fields(ticket_fields(kind))
            .display_value(DisplayValue::All)
            .exclude_reference_link(true);
        self.client.list(kind.table(), &params).await
    }

    /// One ticket by number, read for the queue (names included).
    pub async fn read_ticket(&self, number: &str) -> Result<Option<Record>, SnError> {
        let Some(kind) = TicketKind::from_number(number) else {
            return Ok(None);
        };
        let params = ListParams::new()
            .query(Query::new().eq("number", number).build()?)
            .fields(ticket_fields(kind))
            .display_value(DisplayValue::All)
            .exclude_reference_link(true)
            .page_size(1)
            .max_records(1)
            .no_count(true);
        Ok(self
            .client
            .list(kind.table(), &params)
            .await?
            .into_iter()
            .next())
    }

    /// The queue a record belongs to, by its table and group (the first that matches).
    pub async fn queue_of(&self, record: &Record) -> Option<String> {
        let queues = self.queues().await.ok()?;
        let kind = TicketKind::from_table(record.table())?;
        let group = record.value("assignment_group")?;
        queues
            .iter()
            .find(|q| q.tables.contains(&kind) && q.groups.iter().any(|g| g == group))
            .map(|q| q.name.clone())
    }
}

/// A catalog variable as the ticket detail shows it. Masked (password) variables never
/// leave the adapter: their value is replaced.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VariableView {
    pub name: String,
    pub question: String,
    pub value: String,
    pub masked: bool,
}

/// ServiceNow's variable type code of masked variables.
const MASKED_TYPE: &str = "25";

impl InstanceCtx {
    /// The variables of a requested item (its sys_id), masked ones hidden.
    pub async fn variables(&self, ritm: &str) -> Result<Vec<VariableView>, SnError> {
        const NAME: &str = "sc_item_option.item_option_new.name";
        const QUESTION: &str = "sc_item_option.item_option_new.question_text";
        const TYPE: &str = "sc_item_option.item_option_new.type";
        const VALUE: &str = "sc_item_option.value";
        let params = ListParams::new()
            .query(Query::new().eq("request_item", ritm).build()?)
            .fields([NAME, QUESTION, TYPE, VALUE])
            .exclude_reference_link(true);
        let rows = self.client.list("sc_item_option_mtom", &params).await?;
        Ok(rows
            .iter()
            .map(|r| {
                let masked = r.value(TYPE) == Some(MASKED_TYPE);
                let value = r.text(VALUE);
                VariableView {
                    name: r.text(NAME),
                    question: r.text(QUESTION),
                    value: if masked && !value.is_empty() {
                        "********".to_owned()
                    } else {
                        value
                    },
                    masked,
                }
            })
            .collect())
    }
}
