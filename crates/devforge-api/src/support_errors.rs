//! How the support service's refusals read over HTTP.

use crate::error::ApiError;
use actix_web::http::StatusCode;
use devforge_support::SupportError;

impl From<SupportError> for ApiError {
    fn from(err: SupportError) -> Self {
        use SupportError as E;
        match err {
            E::Invalid(invalid) => invalid.into(),
            E::TicketNotFound => {
                Self::new(StatusCode::NOT_FOUND, "ticket_not_found", "no such ticket")
            }
            E::InvalidTransition(refused) => {
                let detail = refused.to_string();
                let allowed = refused
                    .allowed
                    .iter()
                    .map(|status| status.as_str().to_owned())
                    .collect();
                Self::new(StatusCode::CONFLICT, "invalid_transition", detail).with_allowed(allowed)
            }
            E::Forbidden(detail) => Self::new(StatusCode::FORBIDDEN, "forbidden", detail),
            E::InvalidAssignee => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_assignee",
                "tickets can only be assigned to enabled support or admin accounts",
            ),
            E::ArticleNotFound => Self::new(
                StatusCode::NOT_FOUND,
                "article_not_found",
                "no such article",
            ),
            E::RevisionNotFound => Self::new(
                StatusCode::NOT_FOUND,
                "revision_not_found",
                "no such revision of this article",
            ),
            E::SlugTaken => Self::new(
                StatusCode::CONFLICT,
                "slug_taken",
                "an article with this slug already exists",
            ),
            E::Conflict => Self::new(
                StatusCode::CONFLICT,
                "conflict",
                "the ticket changed while this request was applied; try again",
            ),
            E::Store(store) => store.into(),
        }
    }
}
