//! Table API operations: list (one page, page by page, or all), get, insert, patch, delete.

use super::error::Error;
use super::paging::{next_link, next_offset, total_count};
use super::query::{EncodedQuery, validate_field};
use super::record::Record;
use super::transport::{Call, Replay, ServiceNowClient};
use reqwest::Method;
use serde_json::{Map, Value};
use std::collections::HashSet;
use url::Url;

/// `sysparm_display_value`: raw values, display values, or both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum DisplayValue {
    #[default]
    False,
    True,
    All,
}

impl DisplayValue {
    pub fn as_str(self) -> &'static str {
        match self {
            DisplayValue::False => "false",
            DisplayValue::True => "true",
            DisplayValue::All => "all",
        }
    }
}

/// What to read of each record (shared by lists and single reads).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// `sysparm_fields`; empty reads every field.
    pub fields: Vec<String>,
    pub display_value: DisplayValue,
    pub exclude_reference_link: bool,
}

impl ReadOptions {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn fields<I, S>(mut self, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.fields = fields.into_iter().map(Into::into).collect();
        self
    }

    pub fn display_value(mut self, display: DisplayValue) -> Self {
        self.display_value = display;
        self
    }

    pub fn exclude_reference_link(mut self, exclude: bool) -> Self {
        self.exclude_reference_link = exclude;
        self
    }

    fn append(&self, url: &mut Url) -> Result<(), super::query::QueryError> {
        for f in &self.fields {
            validate_field(f)?;
        }
        let mut q = url.query_pairs_mut();
        if !self.fields.is_empty() {
            q.append_pair("sysparm_fields", &self.fields.join(","));
        }
        q.append_pair("sysparm_display_value", self.display_value.as_str());
        q.append_pair(
            "sysparm_exclude_reference_link",
            if self.exclude_reference_link {
                "true"
            } else {
                "false"
            },
        );
        Ok(())
    }
}

/// A list request. Build with the chaining methods.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListParams {
    pub query: Option<EncodedQuery>,
    pub read: ReadOptions,
    /// `sysparm_limit` per page; the client's configured page size when `None`.
    pub page_size: Option<u32>,
    /// `sysparm_offset` of the first page.
    pub offset: u64,
    /// `sysparm_no_count`: skip the count (paging then relies on `Link` and full pages).
    pub no_count: bool,
    /// Stop collecting after this many records.
    pub max_records: Option<usize>,
}

impl ListParams {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn query(mut self, query: EncodedQuery) -> Self {
        self.query = Some(query);
        self
    }

    pub fn fields<I, S>(mut self, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.read = self.read.fields(fields);
        self
    }

    pub fn display_value(mut self, display: DisplayValue) -> Self {
        self.read.display_value = display;
        self
    }

    pub fn exclude_reference_link(mut self, exclude: bool) -> Self {
        self.read.exclude_reference_link = exclude;
        self
    }

    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }

    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = offset;
        self
    }

    pub fn no_count(mut self, no_count: bool) -> Self {
        self.no_count = no_count;
        self
    }

    pub fn max_records(mut self, max: usize) -> Self {
        self.max_records = Some(max);
        self
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub records: Vec<Record>,
    /// `sysparm_offset` this page was read at.
    pub offset: u64,
    /// `X-Total-Count`, when the instance sent it.
    pub total: Option<u64>,
}

enum Next {
    Url(Url),
    Offset(u64),
    Done,
}

/// Reads a list page by page; see [`ServiceNowClient::pages`].
pub struct Pager {
    client: ServiceNowClient,
    table: String,
    params: ListParams,
    limit: u64,
    next: Next,
    delivered: usize,
}

impl Pager {
    /// The next page, or `None` once the data is exhausted (or `max_records` reached).
    pub async fn next_page(&mut self) -> Result<Option<Page>, Error> {
        if self
            .params
            .max_records
            .is_some_and(|max| self.delivered >= max)
        {
            self.next = Next::Done;
        }
        let url = match &self.next {
            Next::Done => return Ok(None),
            Next::Url(url) => url.clone(),
            Next::Offset(offset) => {
                self.client
                    .list_url(&self.table, &self.params, *offset, self.limit)?
            }
        };
        let offset = offset_of(&url).unwrap_or(self.params.offset);
        let call = Call {
            method: Method::GET,
            url: url.clone(),
            target: self.table.clone(),
            body: None,
            replay: Replay::Safe,
        };
        let reply = self.client.send(&call).await?;
        let records =
            self.client
                .decode_list(&self.table, self.params.read.display_value, &reply.body)?;
        let total = total_count(&reply.headers);
        let received = records.len() as u64;
        let link = next_link(&reply.headers).and_then(|l| self.client.inner.base.join(&l).ok());
        self.next = match link {
            // Follow the instance's own link, but never send credentials to another host, and
            // never re-read the same page forever.
            Some(next) if self.client.same_origin(&next) && next != url => Next::Url(next),
            Some(next) => {
                tracing::warn!(instance = %self.client.name(), next = %next,
                    "ignoring an unusable Link rel=next; paging by offset");
                self.fallback(offset, received, total)
            }
            None => self.fallback(offset, received, total),
        };
        self.delivered += records.len();
        Ok(Some(Page {
            records,
            offset,
            total,
        }))
    }

    fn fallback(&self, offset: u64, received: u64, total: Option<u64>) -> Next {
        match next_offset(offset, self.limit, received, total) {
            Some(next) => Next::Offset(next),
            None => Next::Done,
        }
    }

    /// Reads every remaining page and returns the records, de-duplicated by sys_id (an
    /// instance that hides rows by ACL can make offset paging re-read a few).
    pub async fn collect(mut self) -> Result<Vec<Record>, Error> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        while let Some(page) = self.next_page().await? {
            for record in page.records {
                if let Some(id) = record.sys_id()
                    && !seen.insert(id.to_owned())
                {
                    continue;
                }
                out.push(record);
            }
        }
        if let Some(max) = self.params.max_records {
            out.truncate(max);
        }
        Ok(out)
    }
}

fn offset_of(url: &Url) -> Option<u64> {
    url.query_pairs()
        .find(|(k, _)| k == "sysparm_offset")
        .and_then(|(_, v)| v.parse().ok())
}

fn journal_write(body: &Value) -> bool {
    body.as_object().is_some_and(|o| {
        ["work_notes", "comments", "comments_and_work_notes"]
            .iter()
            .any(|f| {
                o.get(*f)
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.is_empty())
            })
    })
}

impl ServiceNowClient {
    /// Reads a list page by page.
    pub fn pages(&self, table: &str, params: &ListParams) -> Result<Pager, Error> {
        self.check_table(table)?;
        let limit = params
            .page_size
            .unwrap_or(self.inner.config.page_size)
            .max(1) as u64;
        Ok(Pager {
            client: self.clone(),
            table: table.to_owned(),
            params: params.clone(),
            limit,
            next: Next::Offset(params.offset),
            delivered: 0,
        })
    }

    /// Reads one page at `params.offset`.
    pub async fn list_page(&self, table: &str, params: &ListParams) -> Result<Page, Error> {
        let mut pager = self.pages(table, params)?;
        Ok(pager.next_page().await?.unwrap_or(Page {
            records: Vec::new(),
            offset: params.offset,
            total: None,
        }))
    }

    /// Reads every matching record, following the pages.
    pub async fn list(&self, table: &str, params: &ListParams) -> Result<Vec<Record>, Error> {
        self.pages(table, params)?.collect().await
    }

    /// Reads one record; a 404 means missing or hidden by ACL.
    pub async fn get(
        &self,
        table: &str,
        sys_id: &str,
        read: &ReadOptions,
    ) -> Result<Record, Error> {
        self.check_table(table)?;
        self.check_sys_id(sys_id)?;
        let mut url = self.url(&["api", "now", "table", table, sys_id])?;
        read.append(&mut url)?;
        let reply = self
            .send(&Call {
                method: Method::GET,
                url,
                target: format!("{table}/{sys_id}"),
                body: None,
                replay: Replay::Safe,
            })
            .await?;
        self.decode_one(table, read.display_value, &reply.body)
    }

    /// Inserts a record (201) and returns it as stored. Not retried once it may have reached
    /// the instance, since a repeat would insert twice.
    pub async fn insert(&self, table: &str, fields: &Map<String, Value>) -> Result<Record, Error> {
        self.check_table(table)?;
        let url = self.url(&["api", "now", "table", table])?;
        let reply = self
            .send(&Call {
                method: Method::POST,
                url,
                target: table.to_owned(),
                body: Some(Value::Object(fields.clone())),
                replay: Replay::Unsafe,
            })
            .await?;
        if reply.status != 201 && reply.status != 200 {
            tracing::debug!(status = reply.status, "insert answered without 201");
        }
        self.decode_one(table, DisplayValue::False, &reply.body)
    }

    /// Updates the given fields (200) and returns the record. Journal appends (`work_notes`,
    /// `comments`) are not repeated on an uncertain failure, so a note is never written twice.
    pub async fn patch(
        &self,
        table: &str,
        sys_id: &str,
        fields: &Map<String, Value>,
    ) -> Result<Record, Error> {
        self.patch_read(table, sys_id, fields, &ReadOptions::default())
            .await
    }

    /// [`ServiceNowClient::patch`], choosing which fields (and which form) the echoed record
    /// comes back with.
    pub async fn patch_read(
        &self,
        table: &str,
        sys_id: &str,
        fields: &Map<String, Value>,
        read: &ReadOptions,
    ) -> Result<Record, Error> {
        self.check_table(table)?;
        self.check_sys_id(sys_id)?;
        let mut url = self.url(&["api", "now", "table", table, sys_id])?;
        if *read != ReadOptions::default() {
            read.append(&mut url)?;
        }
        let body = Value::Object(fields.clone());
        let replay = if journal_write(&body) {
            Replay::Unsafe
        } else {
            Replay::Safe
        };
        let reply = self
            .send(&Call {
                method: Method::PATCH,
                url,
                target: format!("{table}/{sys_id}"),
                body: Some(body),
                replay,
            })
            .await?;
        self.decode_one(table, read.display_value, &reply.body)
    }

    /// Deletes a record (204).
    pub async fn delete(&self, table: &str, sys_id: &str) -> Result<(), Error> {
        self.check_table(table)?;
        self.check_sys_id(sys_id)?;
        let url = self.url(&["api", "now", "table", table, sys_id])?;
        self.send(&Call {
            method: Method::DELETE,
            url,
            target: format!("{table}/{sys_id}"),
            body: None,
            replay: Replay::Safe,
        })
        .await?;
        Ok(())
    }

    fn list_url(
        &self,
        table: &str,
        params: &ListParams,
        offset: u64,
        limit: u64,
    ) -> Result<Url, Error> {
        let mut url = self.url(&["api", "now", "table", table])?;
        params.read.append(&mut url)?;
        {
            let mut q = url.query_pairs_mut();
            if let Some(query) = params.query.as_ref().filter(|q| !q.is_empty()) {
                q.append_pair("sysparm_query", query.as_str());
            }
            q.append_pair("sysparm_limit", &limit.to_string());
            q.append_pair("sysparm_offset", &offset.to_string());
            if params.no_count {
                q.append_pair("sysparm_no_count", "true");
            }
        }
        Ok(url)
    }

    pub(crate) fn check_table(&self, table: &str) -> Result<(), Error> {
        let ok = !table.is_empty()
            && table
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if ok {
            Ok(())
        } else {
            Err(self.invalid(format!("invalid table name {table:?}")))
        }
    }

    pub(crate) fn check_sys_id(&self, sys_id: &str) -> Result<(), Error> {
        let ok = !sys_id.is_empty()
            && sys_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok {
            Ok(())
        } else {
            Err(self.invalid(format!("invalid sys_id {sys_id:?}")))
        }
    }

    pub(crate) fn decode_list(
        &self,
        table: &str,
        display: DisplayValue,
        body: &str,
    ) -> Result<Vec<Record>, Error> {
        match self.result(table, body)? {
            Value::Array(rows) => rows
                .into_iter()
                .map(|row| self.to_record(table, display, row))
                .collect(),
            _ => Err(self.bad_body(table, "expected {\"result\": [...]}")),
        }
    }

    pub(crate) fn decode_one(
        &self,
        table: &str,
        display: DisplayValue,
        body: &str,
    ) -> Result<Record, Error> {
        let result = self.result(table, body)?;
        self.to_record(table, display, result)
    }

    /// The `result` member of an answer.
    pub(crate) fn result(&self, table: &str, body: &str) -> Result<Value, Error> {
        let mut doc: Value = serde_json::from_str(body)
            .map_err(|e| self.bad_body(table, format!("answer is not JSON: {e}")))?;
        doc.get_mut("result")
            .map(Value::take)
            .ok_or_else(|| self.bad_body(table, "answer has no \"result\""))
    }

    fn to_record(&self, table: &str, display: DisplayValue, row: Value) -> Result<Record, Error> {
        match row {
            Value::Object(map) => Ok(Record::new(self.name(), table, display, map)),
            _ => Err(self.bad_body(table, "a result row is not an object")),
        }
    }

    fn bad_body(&self, table: &str, message: impl Into<String>) -> Error {
        Error::decode(self.name(), table, None, None, message)
    }
}
