//! Moving between views: switching (`1`–`8`, `:sessions London`), drilling down with `Enter`
//! (ticket → requester → sessions → machine → details), going back, and the breadcrumbs.
//!
//! A drill-down is a filter on the next view (`user==CORP\alice`), shown in its title like
//! any filter the operator types, so the operator sees why rows are missing and can edit it.
//! Going back restores the filter that view had before.

use super::{App, Crumb, Effect, Link, Table};
use crate::console::filter::Filter;
use crate::console::keymap::View;

impl App {
    /// Opens a view from the root (the breadcrumbs start again), loading it when it has never
    /// loaded, or when its scope changes.
    pub(crate) fn switch(&mut self, view: View, scope: Option<Option<String>>) -> Vec<Effect> {
        self.crumbs.clear();
        self.show(view, scope)
    }

    fn show(&mut self, view: View, scope: Option<Option<String>>) -> Vec<Effect> {
        self.view = view;
        self.dirty = true;
        let table = self
            .tables
            .entry(view)
            .or_insert_with(|| Table::new(view, None));
        let mut reload = table.loaded_at.is_none() && table.status != super::LoadStatus::Loading;
        if let Some(scope) = scope
            && table.scope != scope
        {
            table.scope = scope;
            table.rows.clear();
            table.order.clear();
            table.marks.clear();
            reload = true;
        }
        let mut effects: Vec<Effect> = Vec::new();
        if reload || table.stale {
            effects.extend(self.load(view));
        }
        effects.extend(self.follow_cursor());
        effects
    }

    /// `Enter` on the cursor row.
    pub(crate) fn drill(&mut self) -> Vec<Effect> {
        let view = self.view;
        let Some(row) = self.table().current() else {
            return Vec::new();
        };
        let ticket = match &row.target {
            super::RowRef::Ticket(link) => Some(link.clone()),
            _ => None,
        };
        let cell = |name: &str| {
            super::convert::column_index(view, name)
                .map_or(String::new(), |i| row.cell(i).to_owned())
        };
        let step = match view {
            View::Tickets => {
                let requester = cell("requester");
                if requester.is_empty() {
                    None
                } else {
                    Some((
                        cell("number"),
                        View::Users,
                        None,
                        format!("name=={}", quote(&requester)),
                    ))
                }
            }
            View::Users => {
                let user = cell("user");
                Some((
                    user.clone(),
                    View::Sessions,
                    Some(None),
                    format!("user=={}", quote(&user)),
                ))
            }
            View::Sessions => {
                let machine = cell("machine");
                Some((
                    machine.clone(),
                    View::Machines,
                    Some(None),
                    format!("name=={}", quote(&machine)),
                ))
            }
            View::Sites => {
                let site = cell("name");
                Some((site.clone(), View::Groups, Some(Some(site)), String::new()))
            }
            View::Groups => {
                let (group, site) = (cell("name"), cell("site"));
                Some((
                    group.clone(),
                    View::Machines,
                    Some(Some(site)),
                    format!("group=={}", quote(&group)),
                ))
            }
            View::Machines | View::Jobs | View::Audit => None,
        };
        let Some((label, to, scope, filter)) = step else {
            // The end of the chain: the details of the object.
            self.details = true;
            self.dirty = true;
            return self.follow_cursor();
        };
        let target = self
            .tables
            .entry(to)
            .or_insert_with(|| Table::new(to, None));
        let crumb = Crumb {
            from: view,
            label,
            to,
            to_filter_before: target.filter.as_ref().map(|f| f.text().to_owned()),
            to_scope_before: target.scope.clone(),
            ticket,
        };
        let names = target.column_names();
        let parsed = if filter.is_empty() {
            None
        } else {
            Filter::parse(&filter, &names).ok()
        };
        target.set_filter(parsed);
        self.crumbs.push(crumb);
        if to == View::Machines {
            self.details = true;
        }
        self.show(to, scope)
    }

    /// `esc`, `-`, and `q` away from the root: one step back up the drill-down. At the root,
    /// `esc` clears the filter (k9s).
    pub(crate) fn back(&mut self) -> Vec<Effect> {
        let Some(crumb) = self.crumbs.pop() else {
            let table = self.table_mut();
            if table.filter.is_some() {
                table.set_filter(None);
                self.dirty = true;
            } else if self.details {
                self.details = false;
                self.dirty = true;
            }
            return Vec::new();
        };
        let left = self
            .tables
            .entry(crumb.to)
            .or_insert_with(|| Table::new(crumb.to, None));
        let names = left.column_names();
        let before = crumb
            .to_filter_before
            .as_deref()
            .and_then(|f| Filter::parse(f, &names).ok());
        left.set_filter(before);
        let mut effects = Vec::new();
        if left.scope != crumb.to_scope_before {
            left.scope = crumb.to_scope_before.clone();
            left.loaded_at = None;
            effects.extend(self.load(crumb.to));
        }
        self.details = false;
        effects.extend(self.show(crumb.from, None));
        effects
    }

    /// The breadcrumbs: each step's view and what it was about, then the current view.
    pub fn breadcrumbs(&self) -> Vec<String> {
        let mut out = Vec::new();
        for crumb in &self.crumbs {
            out.push(crumb.from.name().to_owned());
            out.push(crumb.label.clone());
        }
        out.push(self.view.name().to_owned());
        out
    }

    /// After the cursor moved: the detail pane follows it (a ticket's live detail, a job's
    /// per-target results).
    pub(crate) fn follow_cursor(&mut self) -> Vec<Effect> {
        // A user's account flags fill their row whether or not the pane is open.
        let mut effects = self.follow_account();
        if !self.details || self.link != Link::Live && self.link != Link::Connecting {
            return effects;
        }
        effects.extend(self.follow_detail());
        effects
    }

    fn follow_detail(&mut self) -> Vec<Effect> {
        match self.table().current().map(|r| r.target.clone()) {
            Some(super::RowRef::Ticket(link)) => {
                if self.ticket.as_ref().is_some_and(|(l, _)| *l == link) {
                    return Vec::new();
                }
                self.ticket = Some((link.clone(), Err("loading…".to_owned())));
                vec![Effect::LoadTicket(link)]
            }
            Some(super::RowRef::Job { id }) => {
                if matches!(&self.job, Some(Ok(job)) if job.id == id) {
                    return Vec::new();
                }
                self.job = None;
                vec![Effect::LoadJob(id)]
            }
            Some(super::RowRef::User { login, .. }) => self.follow_routing(login),
            _ => Vec::new(),
        }
    }
}

/// A filter value, quoted when it has spaces or quotes would be needed.
fn quote(value: &str) -> String {
    if value.contains(char::is_whitespace) || value.is_empty() {
        format!("\"{}\"", value.replace('"', ""))
    } else {
        value.to_owned()
    }
}
