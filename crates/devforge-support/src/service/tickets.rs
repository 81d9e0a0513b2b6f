//! Ticket rules: who sees which tickets and messages, and which changes the lifecycle
//! allows to whom.

use super::{Actor, SupportService};
use crate::error::SupportError;
use crate::lifecycle::{Action, Party};
use crate::ports::{
    AssigneeFilter, Expected, Milestone, NewTicket, SupportStore, TicketFilter, TicketSort,
    TicketStats, TicketUpdate, UpdateOutcome,
};
use crate::thread::{EventKind, Message, MessageId, NewTicketEvent, TicketEvent};
use crate::ticket::{Category, MessageBody, Priority, Subject, Ticket, TicketId, TicketStatus};
use chrono::{DateTime, Utc};
use devforge_domain::SearchQuery;
use devforge_domain::{Clock, Page, PageRequest, UserId};

/// How often a change is retried when another one got in first.
const ATTEMPTS: usize = 5;

/// What a customer fills in to open a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenTicket {
    /// One line.
    pub subject: String,
    /// The first message.
    pub body: String,
    /// Area.
    pub category: Category,
    /// Urgency (default normal).
    pub priority: Option<Priority>,
    /// A license of the requester's it is about (checked by the caller).
    pub license_id: Option<uuid::Uuid>,
    /// A payment of the requester's it is about (checked by the caller).
    pub payment_id: Option<uuid::Uuid>,
}

/// A ticket list request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TicketQuery {
    /// Status filter.
    pub status: Option<TicketStatus>,
    /// Priority filter.
    pub priority: Option<Priority>,
    /// Category filter.
    pub category: Option<Category>,
    /// Assignee filter (staff only).
    pub assignee: AssigneeFilter,
    /// Full text.
    pub q: Option<String>,
    /// Order.
    pub sort: TicketSort,
}

/// A change asked for through `PATCH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TicketChanges {
    /// New status.
    pub status: Option<TicketStatus>,
    /// New priority (staff).
    pub priority: Option<Priority>,
    /// New category (staff).
    pub category: Option<Category>,
}

fn event(
    kind: EventKind,
    actor: Option<UserId>,
    from: Option<String>,
    to: Option<String>,
    at: DateTime<Utc>,
) -> NewTicketEvent {
    NewTicketEvent {
        kind,
        actor,
        from,
        to,
        at,
    }
}

/// `now` as a milestone of `ticket`.
fn milestone(ticket: &Ticket, now: DateTime<Utc>) -> Milestone {
    Milestone {
        at: now,
        after: (now - ticket.created_at).to_std().unwrap_or_default(),
    }
}

/// The fields a status change sets besides the status.
fn status_update(
    update: &mut TicketUpdate,
    ticket: &Ticket,
    from: TicketStatus,
    to: TicketStatus,
    now: DateTime<Utc>,
) {
    update.status = Some(to);
    match to {
        TicketStatus::Resolved => update.resolution = Some(Some(milestone(ticket, now))),
        TicketStatus::Closed => update.closed_at = Some(now),
        TicketStatus::Open if from == TicketStatus::Resolved => update.resolution = Some(None),
        _ => {}
    }
}

impl<S: SupportStore, C: Clock> SupportService<S, C> {
    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The ticket as it stands now: a resolved one past its reopen window reads closed.
    fn present(&self, mut ticket: Ticket) -> Ticket {
        let now = self.now();
        let lifecycle = &self.config.lifecycle;
        ticket.closed_at = ticket.closed_at(lifecycle, now);
        ticket.status = ticket.status_at(lifecycle, now);
        ticket
    }

    /// The ticket with its version, if `actor` may see it.
    async fn visible(&self, actor: Actor, id: TicketId) -> Result<(Ticket, i64), SupportError> {
        match self.store.find_ticket(id).await? {
            Some((ticket, version)) if actor.is_staff() || ticket.requester == actor.user_id => {
                Ok((ticket, version))
            }
            _ => Err(SupportError::TicketNotFound),
        }
    }

    /// Opens a ticket; its body is the first message.
    ///
    /// # Errors
    /// [`SupportError::Invalid`] for a bad subject or body.
    pub async fn open_ticket(
        &self,
        actor: Actor,
        request: OpenTicket,
    ) -> Result<Ticket, SupportError> {
        let subject = Subject::parse(&request.subject)?;
        let body = MessageBody::parse(&request.body)?;
        let now = self.now();
        let id = TicketId::generate();
        let ticket = Ticket {
            id,
            number: 0,
            subject,
            category: request.category,
            priority: request.priority.unwrap_or_default(),
            status: TicketStatus::Open,
            requester: actor.user_id,
            assignee: None,
            license_id: request.license_id,
            payment_id: request.payment_id,
            created_at: now,
            last_activity_at: now,
            first_response_at: None,
            resolved_at: None,
            closed_at: None,
        };
        let message = Message {
            id: MessageId::generate(),
            ticket_id: id,
            author: actor.user_id,
            from_staff: actor.is_staff(),
            internal: false,
            body,
            created_at: now,
        };
        let new = NewTicket {
            ticket,
            message,
            auto_assign: self.config.auto_assign,
        };
        Ok(self.present(self.store.create_ticket(new).await?))
    }

    /// One ticket (its requester or staff).
    ///
    /// # Errors
    /// [`SupportError::TicketNotFound`], also for other customers' tickets.
    pub async fn ticket(&self, actor: Actor, id: TicketId) -> Result<Ticket, SupportError> {
        let (ticket, _) = self.visible(actor, id).await?;
        Ok(self.present(ticket))
    }

    /// Tickets: customers see their own, staff all (and may filter by assignee).
    ///
    /// # Errors
    /// [`SupportError::Invalid`] for a bad query; [`SupportError::Forbidden`] when a
    /// customer filters by assignee.
    pub async fn tickets(
        &self,
        actor: Actor,
        query: TicketQuery,
        page: PageRequest,
    ) -> Result<Page<Ticket>, SupportError> {
        let staff = actor.is_staff();
        if !staff && query.assignee != AssigneeFilter::Any {
            return Err(SupportError::Forbidden("only staff filter by assignee"));
        }
        let search = query.q.as_deref().map(SearchQuery::parse).transpose()?;
        let filter = TicketFilter {
            requester: (!staff).then_some(actor.user_id),
            status: query.status,
            priority: query.priority,
            category: query.category,
            assignee: query.assignee,
            query: search,
            search_internal: staff,
            reopen_cutoff: self.now() - self.config.lifecycle.reopen_window,
        };
        let page = self.store.list_tickets(filter, query.sort, page).await?;
        Ok(page.map(|ticket| self.present(ticket)))
    }

    /// Runs `attempt` against fresh reads until its compare-and-set lands.
    async fn retrying<F, Fut>(
        &self,
        actor: Actor,
        id: TicketId,
        attempt: F,
    ) -> Result<Ticket, SupportError>
    where
        F: Fn(Ticket, i64) -> Fut,
        Fut: Future<Output = Result<UpdateOutcome, SupportError>>,
    {
        for _ in 0..ATTEMPTS {
            let (ticket, version) = self.visible(actor, id).await?;
            match attempt(ticket, version).await? {
                UpdateOutcome::Updated(ticket) => return Ok(self.present(*ticket)),
                UpdateOutcome::NotFound => return Err(SupportError::TicketNotFound),
                UpdateOutcome::Stale => {}
            }
        }
        Err(SupportError::Conflict)
    }

    /// Changes status, priority or category. Staff may change all three along the
    /// lifecycle; the requester may only close or reopen.
    ///
    /// # Errors
    /// [`SupportError::InvalidTransition`] with the allowed statuses;
    /// [`SupportError::Forbidden`] when a requester changes priority or category.
    pub async fn change_ticket(
        &self,
        actor: Actor,
        id: TicketId,
        changes: TicketChanges,
    ) -> Result<Ticket, SupportError> {
        let party = if actor.is_staff() {
            Party::Staff
        } else {
            Party::Requester
        };
        if party == Party::Requester && (changes.priority.is_some() || changes.category.is_some()) {
            self.visible(actor, id).await?;
            return Err(SupportError::Forbidden(
                "only staff change a ticket's priority or category",
            ));
        }
        self.retrying(actor, id, |ticket, version| async move {
            let now = self.now();
            let mut update = TicketUpdate::default();
            let mut events = Vec::new();
            let who = Some(actor.user_id);
            if let Some(to) = changes.status {
                let lifecycle = &self.config.lifecycle;
                let from = ticket.status_at(lifecycle, now);
                if to != from {
                    let next = lifecycle.apply(
                        ticket.status,
                        ticket.resolved_at,
                        now,
                        party,
                        Action::SetStatus(to),
                    )?;
                    status_update(&mut update, &ticket, from, next, now);
                    update.activity_at = Some(now);
                    events.push(event(
                        EventKind::Status,
                        who,
                        Some(from.as_str().into()),
                        Some(next.as_str().into()),
                        now,
                    ));
                }
            }
            if let Some(to) = changes.priority.filter(|p| *p != ticket.priority) {
                update.priority = Some(to);
                events.push(event(
                    EventKind::Priority,
                    who,
                    Some(ticket.priority.as_str().into()),
                    Some(to.as_str().into()),
                    now,
                ));
            }
            if let Some(to) = changes.category.filter(|c| *c != ticket.category) {
                update.category = Some(to);
                events.push(event(
                    EventKind::Category,
                    who,
                    Some(ticket.category.as_str().into()),
                    Some(to.as_str().into()),
                    now,
                ));
            }
            if events.is_empty() {
                return Ok(UpdateOutcome::Updated(Box::new(ticket)));
            }
            Ok(self
                .store
                .update_ticket(id, Expected::Version(version), update, None, events)
                .await?)
        })
        .await
    }

    /// Assigns a ticket to a staff member, or unassigns it (staff).
    ///
    /// # Errors
    /// [`SupportError::InvalidAssignee`] when the assignee is not enabled staff;
    /// [`SupportError::Forbidden`] for customers.
    pub async fn assign(
        &self,
        actor: Actor,
        id: TicketId,
        assignee: Option<UserId>,
    ) -> Result<Ticket, SupportError> {
        if !actor.is_staff() {
            self.visible(actor, id).await?;
            return Err(SupportError::Forbidden("only staff assign tickets"));
        }
        if let Some(user) = assignee
            && !self.store.is_staff(user).await?
        {
            return Err(SupportError::InvalidAssignee);
        }
        self.retrying(actor, id, |ticket, version| async move {
            if ticket.assignee == assignee {
                return Ok(UpdateOutcome::Updated(Box::new(ticket)));
            }
            let now = self.now();
            let update = TicketUpdate {
                assignee: Some((assignee, now)),
                ..TicketUpdate::default()
            };
            let change = event(
                EventKind::Assignee,
                Some(actor.user_id),
                ticket.assignee.map(|u| u.to_string()),
                assignee.map(|u| u.to_string()),
                now,
            );
            Ok(self
                .store
                .update_ticket(id, Expected::Version(version), update, None, vec![change])
                .await?)
        })
        .await
    }

    /// Posts a message. Customers post public replies to their own tickets (which may move
    /// the ticket back to staff); staff post replies or internal notes. The first public
    /// staff reply is the first response.
    ///
    /// # Errors
    /// [`SupportError::InvalidTransition`] on a closed ticket; [`SupportError::Forbidden`]
    /// when a customer posts an internal note.
    pub async fn post_message(
        &self,
        actor: Actor,
        id: TicketId,
        body: &str,
        internal: bool,
    ) -> Result<Message, SupportError> {
        let staff = actor.is_staff();
        if internal && !staff {
            self.visible(actor, id).await?;
            return Err(SupportError::Forbidden("only staff post internal notes"));
        }
        let body = MessageBody::parse(body)?;
        let party = if staff {
            Party::Staff
        } else {
            Party::Requester
        };
        let now = self.now();
        let message = Message {
            id: MessageId::generate(),
            ticket_id: id,
            author: actor.user_id,
            from_staff: staff,
            internal,
            body,
            created_at: now,
        };
        let posted = &message;
        self.retrying(actor, id, |ticket, _version| async move {
            let lifecycle = &self.config.lifecycle;
            let from = ticket.status_at(lifecycle, now);
            let next =
                lifecycle.apply(ticket.status, ticket.resolved_at, now, party, Action::Reply)?;
            let expected = Expected::Status(ticket.status);
            if internal {
                // A note changes nothing customers can see, not even the last activity.
                let note = Some(posted.clone());
                let stored = self.store.update_ticket(
                    id,
                    expected,
                    TicketUpdate::default(),
                    note,
                    Vec::new(),
                );
                return Ok(stored.await?);
            }
            let mut update = TicketUpdate {
                activity_at: Some(now),
                ..TicketUpdate::default()
            };
            let mut events = Vec::new();
            if staff && ticket.first_response_at.is_none() {
                update.first_response = Some(milestone(&ticket, now));
            }
            if next != from {
                status_update(&mut update, &ticket, from, next, now);
                events.push(event(
                    EventKind::Status,
                    Some(actor.user_id),
                    Some(from.as_str().into()),
                    Some(next.as_str().into()),
                    now,
                ));
            }
            Ok(self
                .store
                .update_ticket(id, expected, update, Some(posted.clone()), events)
                .await?)
        })
        .await?;
        Ok(message)
    }

    /// A ticket's messages, oldest first; internal notes for staff only.
    ///
    /// # Errors
    /// [`SupportError::TicketNotFound`].
    pub async fn messages(
        &self,
        actor: Actor,
        id: TicketId,
        page: PageRequest,
    ) -> Result<Page<Message>, SupportError> {
        self.visible(actor, id).await?;
        Ok(self.store.list_messages(id, actor.is_staff(), page).await?)
    }

    /// A ticket's changes, oldest first.
    ///
    /// # Errors
    /// [`SupportError::TicketNotFound`].
    pub async fn events(
        &self,
        actor: Actor,
        id: TicketId,
        page: PageRequest,
    ) -> Result<Page<TicketEvent>, SupportError> {
        self.visible(actor, id).await?;
        Ok(self.store.list_ticket_events(id, page).await?)
    }

    /// The support figures of the admin dashboard.
    ///
    /// # Errors
    /// [`SupportError::Store`].
    pub async fn stats(&self) -> Result<TicketStats, SupportError> {
        Ok(self.store.ticket_stats().await?)
    }
}
