//! `/v1/support/tickets`: customers open tickets and talk to staff; staff triage, assign
//! and answer. Every route needs a login (the scope checks it); which tickets and messages
//! a caller sees is the support service's decision.

use crate::dto::admin::PageQuery;
use crate::dto::page::{PageResponse, page_request};
use crate::dto::tickets::{
    AssignRequest, MessageResponse, OpenTicketRequest, PostMessageRequest, TicketEventResponse,
    TicketResponse, TicketsQuery, UpdateTicketRequest,
};
use crate::error::{ApiError, Problem};
use crate::extract::{Authenticated, Valid, ValidQuery};
use crate::problem_responses::{NotLoggedIn, NotStaff};
use crate::routes::support_actor;
use crate::state::AppState;
use actix_web::{HttpResponse, get, patch, post, web};
use devforge_domain::{Role, UserId};
use devforge_identity::Principal;
use devforge_licensing::{LicenseId, LicensingError, Requester};
use devforge_support::{AssigneeFilter, OpenTicket, TicketChanges, TicketId, TicketQuery};

fn ticket_id(raw: &str) -> Result<TicketId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::not_found("no ticket with this id"))
}

/// `me`, `none`, or a staff member's id.
fn assignee_filter(raw: Option<&str>, caller: &Principal) -> Result<AssigneeFilter, ApiError> {
    match raw {
        None => Ok(AssigneeFilter::Any),
        Some("me") => Ok(AssigneeFilter::User(caller.user_id)),
        Some("none") => Ok(AssigneeFilter::Nobody),
        Some(id) => id
            .parse()
            .map(AssigneeFilter::User)
            .map_err(|_| ApiError::invalid_field("assignee", "must be `me`, `none` or a user id")),
    }
}

/// Opens a ticket; the body is its first message.
#[utoipa::path(
    operation_id = "openTicket",
    tag = "support",
    security(("bearer" = [])),
    request_body = OpenTicketRequest,
    responses(
        (status = 201, description = "Opened", body = TicketResponse),
        (status = 401, response = NotLoggedIn),
        (status = 422, description = "Bad subject, body or category, or a license or payment that is not yours", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("")]
pub async fn open_ticket(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: Valid<OpenTicketRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    if let Some(license) = body.license_id {
        // Only one's own license may be linked, whatever one's role.
        let owner = Requester {
            user_id: caller.0.user_id,
            role: Role::User,
        };
        state
            .licensing
            .license_for(owner, LicenseId::from_uuid(license))
            .await
            .map_err(|err| match err {
                LicensingError::LicenseNotFound => {
                    ApiError::invalid_field("license_id", "no license of yours has this id")
                }
                other => other.into(),
            })?;
    }
    if let Some(payment) = body.payment_id {
        let billing = state.billing.as_ref().ok_or_else(|| {
            ApiError::invalid_field("payment_id", "no payment of yours has this id")
        })?;
        let payer = devforge_billing::Payer {
            user_id: caller.0.user_id,
            role: Role::User,
        };
        billing
            .payment(payer, devforge_billing::PaymentId::from_uuid(payment))
            .await
            .map_err(|err| match err {
                devforge_billing::BillingError::PaymentNotFound => {
                    ApiError::invalid_field("payment_id", "no payment of yours has this id")
                }
                other => other.into(),
            })?;
    }
    let request = OpenTicket {
        subject: body.subject,
        body: body.body,
        category: body.category.into(),
        priority: body.priority.map(Into::into),
        license_id: body.license_id,
        payment_id: body.payment_id,
    };
    let ticket = state
        .support
        .open_ticket(support_actor(caller.0), request)
        .await?;
    Ok(HttpResponse::Created().json(TicketResponse::from(ticket)))
}

/// Tickets: customers see their own; staff see all and may filter by assignee.
#[utoipa::path(
    operation_id = "listTickets",
    tag = "support",
    security(("bearer" = [])),
    params(TicketsQuery),
    responses(
        (status = 200, description = "A page of tickets", body = PageResponse<TicketResponse>),
        (status = 401, response = NotLoggedIn),
        (status = 403, description = "A customer filtered by assignee", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad filter", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("")]
pub async fn list_tickets(
    state: web::Data<AppState>,
    caller: Authenticated,
    query: ValidQuery<TicketsQuery>,
) -> Result<web::Json<PageResponse<TicketResponse>>, ApiError> {
    let query = query.0;
    let page = page_request(query.page, query.per_page)?;
    let request = TicketQuery {
        status: query.status.map(Into::into),
        priority: query.priority.map(Into::into),
        category: query.category.map(Into::into),
        assignee: assignee_filter(query.assignee.as_deref(), &caller.0)?,
        q: query.q,
        sort: query.sort.map(Into::into).unwrap_or_default(),
    };
    let tickets = state
        .support
        .tickets(support_actor(caller.0), request, page)
        .await?;
    Ok(web::Json(PageResponse::from_page(tickets, Into::into)))
}

/// One ticket (its requester or staff).
#[utoipa::path(
    operation_id = "getTicket",
    tag = "support",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Ticket id")),
    responses(
        (status = 200, description = "The ticket", body = TicketResponse),
        (status = 401, response = NotLoggedIn),
        (status = 404, description = "No such ticket, or not yours", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/{id}")]
pub async fn get_ticket(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<String>,
) -> Result<web::Json<TicketResponse>, ApiError> {
    let ticket = state
        .support
        .ticket(support_actor(caller.0), ticket_id(&id)?)
        .await?;
    Ok(web::Json(ticket.into()))
}

/// Changes status, priority or category (staff); the requester may only close or reopen.
#[utoipa::path(
    operation_id = "updateTicket",
    tag = "support",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Ticket id")),
    request_body = UpdateTicketRequest,
    responses(
        (status = 200, description = "Changed", body = TicketResponse),
        (status = 401, response = NotLoggedIn),
        (status = 403, description = "A requester changing priority or category", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such ticket, or not yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition` (with `allowed`), or a concurrent change", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown status, priority or category", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/{id}")]
pub async fn update_ticket(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<String>,
    body: Valid<UpdateTicketRequest>,
) -> Result<web::Json<TicketResponse>, ApiError> {
    let body = body.0;
    let changes = TicketChanges {
        status: body.status.map(Into::into),
        priority: body.priority.map(Into::into),
        category: body.category.map(Into::into),
    };
    let ticket = state
        .support
        .change_ticket(support_actor(caller.0), ticket_id(&id)?, changes)
        .await?;
    Ok(web::Json(ticket.into()))
}

/// Assigns a ticket to a support or admin account, or unassigns it (staff).
#[utoipa::path(
    operation_id = "assignTicket",
    tag = "support",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Ticket id")),
    request_body = AssignRequest,
    responses(
        (status = 200, description = "Assigned", body = TicketResponse),
        (status = 401, response = NotLoggedIn),
        (status = 403, response = NotStaff),
        (status = 404, description = "No such ticket", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_assignee`: not an enabled staff account", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/{id}/assign")]
pub async fn assign_ticket(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<String>,
    body: Valid<AssignRequest>,
) -> Result<web::Json<TicketResponse>, ApiError> {
    let assignee = body.0.assignee_id.flatten().map(UserId::from_uuid);
    let ticket = state
        .support
        .assign(support_actor(caller.0), ticket_id(&id)?, assignee)
        .await?;
    Ok(web::Json(ticket.into()))
}

/// Posts a reply (or, for staff, an internal note customers never see).
#[utoipa::path(
    operation_id = "postTicketMessage",
    tag = "support",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Ticket id")),
    request_body = PostMessageRequest,
    responses(
        (status = 201, description = "Posted", body = MessageResponse),
        (status = 401, response = NotLoggedIn),
        (status = 403, description = "A customer posting an internal note", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such ticket, or not yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the ticket is closed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Empty or oversized body", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/{id}/messages")]
pub async fn post_message(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<String>,
    body: Valid<PostMessageRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let message = state
        .support
        .post_message(
            support_actor(caller.0),
            ticket_id(&id)?,
            &body.body,
            body.internal,
        )
        .await?;
    Ok(HttpResponse::Created().json(MessageResponse::from(message)))
}

/// The thread, oldest first; internal notes only for staff.
#[utoipa::path(
    operation_id = "listTicketMessages",
    tag = "support",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Ticket id"), PageQuery),
    responses(
        (status = 200, description = "A page of messages", body = PageResponse<MessageResponse>),
        (status = 401, response = NotLoggedIn),
        (status = 404, description = "No such ticket, or not yours", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/{id}/messages")]
pub async fn list_messages(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<String>,
    query: ValidQuery<PageQuery>,
) -> Result<web::Json<PageResponse<MessageResponse>>, ApiError> {
    let page = page_request(query.0.page, query.0.per_page)?;
    let messages = state
        .support
        .messages(support_actor(caller.0), ticket_id(&id)?, page)
        .await?;
    Ok(web::Json(PageResponse::from_page(messages, Into::into)))
}

/// Every change of the ticket, oldest first.
#[utoipa::path(
    operation_id = "listTicketEvents",
    tag = "support",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Ticket id"), PageQuery),
    responses(
        (status = 200, description = "A page of events", body = PageResponse<TicketEventResponse>),
        (status = 401, response = NotLoggedIn),
        (status = 404, description = "No such ticket, or not yours", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/{id}/events")]
pub async fn list_events(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<String>,
    query: ValidQuery<PageQuery>,
) -> Result<web::Json<PageResponse<TicketEventResponse>>, ApiError> {
    let page = page_request(query.0.page, query.0.per_page)?;
    let events = state
        .support
        .events(support_actor(caller.0), ticket_id(&id)?, page)
        .await?;
    Ok(web::Json(PageResponse::from_page(events, Into::into)))
}
