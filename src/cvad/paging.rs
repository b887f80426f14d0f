//! Paged listing: `limit` + `continuationToken` until the site returns no token.
//!
//! A short (even empty) page does not mean the end: only a missing `ContinuationToken` does.
//! [`Pager`] offers the pages one at a time, as a stream, through a callback, or collected.

use super::client::CvadClient;
use super::error::CvadError;
use super::transport::ApiRequest;
use super::wire::Collection;
use futures::Stream;
use serde::de::DeserializeOwned;
use std::ops::ControlFlow;

/// The largest page the API serves; the default for bulk listing.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// One page of converted items.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The token for the next page; `None` on the last one.
    pub continuation_token: Option<String>,
    /// Total matches; only `$search` reports it.
    pub total_items: Option<u64>,
}

/// How often in a row the same continuation token may come back before paging stops.
const MAX_TOKEN_REPEATS: u32 = 3;

/// Everything a `$search` matched, with the total the site reported.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResult<T> {
    pub items: Vec<T>,
    pub total_items: Option<u64>,
}

/// Walks a paged collection. `W` is the wire item, `M` what callers get.
pub struct Pager<W, M> {
    client: CvadClient,
    request: ApiRequest,
    limit: Option<u32>,
    convert: fn(W) -> M,
    next_token: Option<String>,
    finished: bool,
    pages: usize,
    repeats: u32,
}

impl<W, M> std::fmt::Debug for Pager<W, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pager")
            .field("request", &self.request.describe())
            .field("limit", &self.limit)
            .field("pages", &self.pages)
            .field("finished", &self.finished)
            .finish()
    }
}

/// Clamps a requested page size to what the API accepts.
pub fn clamp_limit(limit: u32) -> u32 {
    limit.clamp(1, MAX_PAGE_SIZE)
}

impl<W: DeserializeOwned, M> Pager<W, M> {
    pub(crate) fn new(
        client: CvadClient,
        request: ApiRequest,
        limit: Option<u32>,
        convert: fn(W) -> M,
    ) -> Self {
        Pager {
            client,
            request,
            limit: limit.map(clamp_limit),
            convert,
            next_token: None,
            finished: false,
            pages: 0,
            repeats: 0,
        }
    }

    /// The next page, or `None` once the site said there are no more.
    pub async fn next_page(&mut self) -> Result<Option<Page<M>>, CvadError> {
        if self.finished {
            return Ok(None);
        }
        let mut request = self.request.clone();
        if let Some(limit) = self.limit {
            request = request.query("limit", limit.to_string());
        }
        if let Some(token) = &self.next_token {
            request = request.query("continuationToken", token.clone());
        }
        let what = request.describe();
        let response = self.client.call(request).await?;
        let page: Collection<W> = self.client.decode(&what, &response)?;
        self.pages += 1;
        let token = page.continuation_token.filter(|t| !t.is_empty());
        if token.is_some() && token == self.next_token {
            self.repeats += 1;
        } else {
            self.repeats = 0;
        }
        if self.repeats >= MAX_TOKEN_REPEATS {
            // A site that keeps handing back the token it was given would make us loop
            // forever; a repeat or two is tolerated (an empty page may not advance it).
            self.finished = true;
            return Err(CvadError::Decode {
                site: self.client.site_name().to_string(),
                what,
                detail: format!(
                    "page {} returned the same continuation token it was asked for, {} times in a row",
                    self.pages, self.repeats
                ),
            });
        }
        self.finished = token.is_none();
        self.next_token = token.clone();
        Ok(Some(Page {
            items: page.items.into_iter().map(self.convert).collect(),
            continuation_token: token,
            total_items: page.total_items,
        }))
    }

    /// Calls `on_page` with each page until the last one or until it returns `Break`.
    pub async fn for_each_page(
        mut self,
        mut on_page: impl FnMut(Page<M>) -> ControlFlow<()>,
    ) -> Result<(), CvadError> {
        while let Some(page) = self.next_page().await? {
            if on_page(page).is_break() {
                break;
            }
        }
        Ok(())
    }

    /// Every item of every page.
    pub async fn collect_all(self) -> Result<Vec<M>, CvadError> {
        Ok(self.collect_search().await?.items)
    }

    /// Every item, with the total the first page reported (for `$search`).
    pub async fn collect_search(mut self) -> Result<SearchResult<M>, CvadError> {
        let mut items = Vec::new();
        let mut total_items = None;
        while let Some(page) = self.next_page().await? {
            total_items = total_items.or(page.total_items);
            if items.is_empty() {
                items.reserve(total_items.map_or(page.items.len(), |t| t as usize));
            }
            items.extend(page.items);
        }
        Ok(SearchResult { items, total_items })
    }

    /// The pages as a stream; it ends after the last page or the first error.
    pub fn into_stream(self) -> impl Stream<Item = Result<Page<M>, CvadError>> {
        futures::stream::unfold(Some(self), |pager| async move {
            let mut pager = pager?;
            match pager.next_page().await {
                Ok(Some(page)) => Some((Ok(page), Some(pager))),
                Ok(None) => None,
                Err(err) => Some((Err(err), None)),
            }
        })
    }

    /// How many pages were fetched so far.
    pub fn pages_fetched(&self) -> usize {
        self.pages
    }
}
