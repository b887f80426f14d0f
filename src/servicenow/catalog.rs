//! The service catalog: reading and clearing a requested item's variables
//! (`sc_item_option_mtom` → `sc_item_option`), finding items, and `order_now`.

use super::error::Error;
use super::query::Query;
use super::record::Record;
use super::table::ListParams;
use super::transport::{Call, Replay, ServiceNowClient};
use crate::model::{CatalogVariable, Ticket, TicketKind};
use reqwest::Method;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// One variable of a requested item, with the `sc_item_option` row holding its value so it can
/// be rewritten or cleared (for example a masked password once it has been used).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemVariable {
    /// sys_id of the `sc_item_option` row.
    pub option: String,
    pub variable: CatalogVariable,
}

/// What `order_now` created: the REQ and its requested items.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub request_sys_id: String,
    pub request_number: String,
    pub items: Vec<Ticket>,
}

const NAME: &str = "sc_item_option.item_option_new.name";
const VALUE: &str = "sc_item_option.value";
const OPTION: &str = "sc_item_option";

impl ServiceNowClient {
    /// The variables of a requested item (`sc_req_item` sys_id).
    pub async fn variables(&self, ritm: &str) -> Result<Vec<ItemVariable>, Error> {
        let params = ListParams::new()
            .query(Query::new().eq("request_item", ritm).build()?)
            .fields([OPTION, NAME, VALUE])
            .exclude_reference_link(true);
        let rows = self.list("sc_item_option_mtom", &params).await?;
        rows.iter()
            .map(|r| {
                Ok(ItemVariable {
                    option: r
                        .reference(OPTION)
                        .ok_or_else(|| r.error(OPTION, "missing"))?
                        .to_owned(),
                    variable: CatalogVariable {
                        name: r.str(NAME)?.to_owned(),
                        value: r.text(VALUE),
                    },
                })
            })
            .collect()
    }

    /// Rewrites one variable's value (`sc_item_option` sys_id); `""` clears it.
    pub async fn set_variable(&self, option: &str, value: &str) -> Result<(), Error> {
        let mut fields = Map::new();
        fields.insert("value".into(), Value::String(value.to_owned()));
        self.patch("sc_item_option", option, &fields).await?;
        Ok(())
    }

    /// The sys_id of the active catalog item with this name, if any.
    pub async fn catalog_item_by_name(&self, name: &str) -> Result<Option<String>, Error> {
        let params = ListParams::new()
            .query(Query::new().eq("name", name).eq("active", "true").build()?)
            .fields(["sys_id", "name"])
            .page_size(1)
            .max_records(1)
            .no_count(true);
        let rows = self.list("sc_cat_item", &params).await?;
        Ok(rows.first().and_then(Record::sys_id).map(str::to_owned))
    }

    /// Orders one catalog item for `requested_for` (a sys_user sys_id; the API user when
    /// `None`) and returns the request with its requested items. Never retried once it may
    /// have reached the instance: a repeat would place a second order.
    pub async fn order_now(
        &self,
        item: &str,
        requested_for: Option<&str>,
        variables: &BTreeMap<String, String>,
    ) -> Result<Order, Error> {
        self.check_sys_id(item)?;
        let url = self.url(&["api", "sn_sc", "servicecatalog", "items", item, "order_now"])?;
        let mut body = json!({ "sysparm_quantity": 1, "variables": variables });
        if let (Some(user), Some(obj)) = (requested_for, body.as_object_mut()) {
            obj.insert("sysparm_requested_for".into(), Value::String(user.into()));
        }
        let target = format!("servicecatalog/items/{item}/order_now");
        let reply = self
            .send(&Call {
                method: Method::POST,
                url,
                target: target.clone(),
                body: Some(body),
                replay: Replay::Unsafe,
            })
            .await?;
        let result = self.result("sc_request", &reply.body)?;
        let field = |name: &str| {
            result
                .get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let bad = |what: &str| {
            Error::decode(
                self.name(),
                "sc_request",
                None,
                Some(what),
                format!("order_now answer has no {what}"),
            )
        };
        let request_sys_id = field("request_id")
            .or_else(|| field("sys_id"))
            .ok_or_else(|| bad("request_id"))?;
        let request_number = field("request_number")
            .or_else(|| field("number"))
            .ok_or_else(|| bad("request_number"))?;
        let items = self
            .tickets(
                TicketKind::RequestedItem,
                &ListParams::new()
                    .query(
                        Query::new()
                            .eq("request", &request_sys_id)
                            .order_by("number")
                            .build()?,
                    )
                    .exclude_reference_link(true),
            )
            .await?;
        Ok(Order {
            request_sys_id,
            request_number,
            items,
        })
    }
}
