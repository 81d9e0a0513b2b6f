//! Bodies of the `/v1/support/tickets` routes.

use super::double_option;
use chrono::{DateTime, Utc};
use devforge_support::{
    Category, EventKind, Message, Priority, Ticket, TicketEvent, TicketSort, TicketStats,
    TicketStatus,
};
use garde::Validate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// Declares a DTO enum mirroring a domain enum, with conversions both ways. It is read
/// through a string, so a value of the wrong JSON type (`3`) is an invalid field (422)
/// like an unknown name, not malformed JSON.
macro_rules! mirror_enum {
    ($(#[$meta:meta])* $dto:ident => $domain:ident { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case", try_from = "String")]
        pub enum $dto {
            $($(#[$vmeta])* $variant),+
        }

        impl TryFrom<String> for $dto {
            type Error = String;

            fn try_from(name: String) -> Result<Self, Self::Error> {
                let all = [$($dto::$variant),+];
                let named = |v: &$dto| serde_json::to_value(v).ok() == Some(serde_json::Value::String(name.clone()));
                all.iter().copied().find(named).ok_or_else(|| {
                    let names: Vec<String> = all
                        .iter()
                        .filter_map(|v| serde_json::to_value(v).ok())
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect();
                    format!("unknown variant `{name}`, expected one of {}", names.join(", "))
                })
            }
        }

        impl From<$dto> for $domain {
            fn from(value: $dto) -> Self {
                match value {
                    $($dto::$variant => $domain::$variant),+
                }
            }
        }

        impl From<$domain> for $dto {
            fn from(value: $domain) -> Self {
                match value {
                    $($domain::$variant => $dto::$variant),+
                }
            }
        }
    };
}
pub(crate) use mirror_enum;

mirror_enum!(
    /// Where a ticket stands.
    TicketStatusDto => TicketStatus {
        /// New or reopened; waiting for staff.
        Open,
        /// Staff are on it.
        InProgress,
        /// Staff asked the customer something.
        WaitingOnCustomer,
        /// Solved; may be reopened for a while.
        Resolved,
        /// Final.
        Closed,
    }
);

mirror_enum!(
    /// What a ticket is about.
    CategoryDto => Category {
        /// Payments.
        Billing,
        /// Keys and activations.
        Licensing,
        /// The IDE.
        Technical,
        /// The account.
        Account,
        /// Marketplace extensions.
        Extensions,
        /// Anything else.
        Other,
    }
);

mirror_enum!(
    /// How urgent a ticket is.
    PriorityDto => Priority {
        /// Whenever.
        Low,
        /// The default.
        Normal,
        /// Soon.
        High,
        /// Now.
        Urgent,
    }
);

mirror_enum!(
    /// Ticket list order.
    TicketSortDto => TicketSort {
        /// Most recently opened first (default).
        Newest,
        /// Oldest first.
        Oldest,
        /// Most urgent first.
        Priority,
        /// Most recent public activity first.
        LastActivity,
    }
);

/// `POST /v1/support/tickets`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenTicketRequest {
    /// One line, 1-200 characters.
    #[garde(length(chars, min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub subject: String,
    /// The first message, 1-20,000 characters.
    #[garde(length(chars, min = 1, max = 20_000))]
    #[schema(min_length = 1, max_length = 20000)]
    pub body: String,
    /// Area.
    #[garde(skip)]
    pub category: CategoryDto,
    /// Urgency (default `normal`).
    #[garde(skip)]
    pub priority: Option<PriorityDto>,
    /// A license of yours this is about.
    #[garde(skip)]
    pub license_id: Option<uuid::Uuid>,
    /// A payment of yours this is about.
    #[garde(skip)]
    pub payment_id: Option<uuid::Uuid>,
}

/// Filters of `GET /v1/support/tickets`.
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TicketsQuery {
    /// Only in this status.
    #[garde(skip)]
    pub status: Option<TicketStatusDto>,
    /// Only this priority.
    #[garde(skip)]
    pub priority: Option<PriorityDto>,
    /// Only this category.
    #[garde(skip)]
    pub category: Option<CategoryDto>,
    /// Staff: `me`, `none`, or a staff member's id.
    #[garde(inner(length(min = 1, max = 36)))]
    #[param(min_length = 1, max_length = 36)]
    pub assignee: Option<String>,
    /// Full text over the subject and messages.
    #[garde(inner(length(chars, max = 200)))]
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// Order (default `newest`).
    #[garde(skip)]
    #[param(inline)]
    pub sort: Option<TicketSortDto>,
    /// Page number (from 1).
    #[garde(skip)]
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    /// Page size (1 to 100, default 20).
    #[garde(skip)]
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<u64>,
}

/// `PATCH /v1/support/tickets/{id}`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTicketRequest {
    /// New status (requesters: only `closed`, or `open` to reopen).
    #[garde(skip)]
    pub status: Option<TicketStatusDto>,
    /// New priority (staff).
    #[garde(skip)]
    pub priority: Option<PriorityDto>,
    /// New category (staff).
    #[garde(skip)]
    pub category: Option<CategoryDto>,
}

/// `POST /v1/support/tickets/{id}/assign`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// A support or admin account, or `null` to unassign. Required.
    #[serde(deserialize_with = "double_option::deserialize")]
    #[schema(value_type = Option<uuid::Uuid>)]
    #[garde(skip)]
    pub assignee_id: Option<Option<uuid::Uuid>>,
}

/// `POST /v1/support/tickets/{id}/messages`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostMessageRequest {
    /// 1-20,000 characters.
    #[garde(length(chars, min = 1, max = 20_000))]
    #[schema(min_length = 1, max_length = 20000)]
    pub body: String,
    /// Staff only: a note customers never see.
    #[serde(default)]
    #[garde(skip)]
    pub internal: bool,
}

/// A ticket.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketResponse {
    /// Identifier.
    pub id: uuid::Uuid,
    /// Human-friendly number.
    pub number: u64,
    /// One line.
    pub subject: String,
    /// Area.
    pub category: CategoryDto,
    /// Urgency.
    pub priority: PriorityDto,
    /// Where it stands (a resolved ticket past its reopen window reads `closed`).
    pub status: TicketStatusDto,
    /// The customer.
    pub requester_id: uuid::Uuid,
    /// The staff member on it.
    pub assignee_id: Option<uuid::Uuid>,
    /// A license it is about.
    pub license_id: Option<uuid::Uuid>,
    /// A payment it is about.
    pub payment_id: Option<uuid::Uuid>,
    /// Opened.
    pub created_at: DateTime<Utc>,
    /// Last public message or change.
    pub last_activity_at: DateTime<Utc>,
    /// First public staff reply.
    pub first_response_at: Option<DateTime<Utc>>,
    /// Resolved (cleared when reopened).
    pub resolved_at: Option<DateTime<Utc>>,
    /// Closed.
    pub closed_at: Option<DateTime<Utc>>,
}

impl From<Ticket> for TicketResponse {
    fn from(ticket: Ticket) -> Self {
        Self {
            id: ticket.id.as_uuid(),
            number: ticket.number,
            subject: ticket.subject.as_str().to_owned(),
            category: ticket.category.into(),
            priority: ticket.priority.into(),
            status: ticket.status.into(),
            requester_id: ticket.requester.as_uuid(),
            assignee_id: ticket.assignee.map(|a| a.as_uuid()),
            license_id: ticket.license_id,
            payment_id: ticket.payment_id,
            created_at: ticket.created_at,
            last_activity_at: ticket.last_activity_at,
            first_response_at: ticket.first_response_at,
            resolved_at: ticket.resolved_at,
            closed_at: ticket.closed_at,
        }
    }
}

/// A message in a ticket's thread.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageResponse {
    /// Identifier.
    pub id: uuid::Uuid,
    /// The ticket.
    pub ticket_id: uuid::Uuid,
    /// The writer.
    pub author_id: uuid::Uuid,
    /// Written by staff.
    pub from_staff: bool,
    /// A staff-only note (only staff ever see these).
    pub internal: bool,
    /// The text.
    pub body: String,
    /// Written.
    pub created_at: DateTime<Utc>,
}

impl From<Message> for MessageResponse {
    fn from(message: Message) -> Self {
        Self {
            id: message.id.as_uuid(),
            ticket_id: message.ticket_id.as_uuid(),
            author_id: message.author.as_uuid(),
            from_staff: message.from_staff,
            internal: message.internal,
            body: message.body.as_str().to_owned(),
            created_at: message.created_at,
        }
    }
}

/// One change of a ticket.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketEventResponse {
    /// Sequence number.
    pub id: i64,
    /// `created`, `status_changed`, `priority_changed`, `category_changed` or
    /// `assignee_changed`.
    pub kind: String,
    /// Who made it (absent for automatic assignment).
    pub actor_id: Option<uuid::Uuid>,
    /// The old value.
    pub from: Option<String>,
    /// The new value.
    pub to: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

impl From<TicketEvent> for TicketEventResponse {
    fn from(event: TicketEvent) -> Self {
        let change = event.event;
        Self {
            id: event.id,
            kind: EventKind::as_str(change.kind).to_owned(),
            actor_id: change.actor.map(|a| a.as_uuid()),
            from: change.from,
            to: change.to,
            at: change.at,
        }
    }
}

/// The support section of the admin dashboard.
#[derive(Debug, Serialize, ToSchema)]
pub struct SupportStatsResponse {
    /// Active tickets (open, in progress, waiting on customer) by status.
    pub open_by_status: BTreeMap<String, u64>,
    /// Active tickets by priority.
    pub open_by_priority: BTreeMap<String, u64>,
    /// Active tickets nobody is assigned to.
    pub unassigned: u64,
    /// Median seconds from opening to the first public staff reply.
    pub median_first_response_secs: Option<u64>,
    /// Median seconds from opening to resolution.
    pub median_resolution_secs: Option<u64>,
}

impl From<TicketStats> for SupportStatsResponse {
    fn from(stats: TicketStats) -> Self {
        Self {
            open_by_status: stats
                .active_by_status
                .into_iter()
                .map(|(status, n)| (status.as_str().to_owned(), n))
                .collect(),
            open_by_priority: stats
                .active_by_priority
                .into_iter()
                .map(|(priority, n)| (priority.as_str().to_owned(), n))
                .collect(),
            unassigned: stats.unassigned,
            median_first_response_secs: stats.median_first_response.map(|d| d.as_secs()),
            median_resolution_secs: stats.median_resolution.map(|d| d.as_secs()),
        }
    }
}
