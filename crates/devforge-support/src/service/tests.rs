//! The service's rules against the in-memory fakes and a manual clock.

use super::{
    Actor, ArticleChanges, NewArticle, OpenTicket, SupportConfig, SupportService, TicketChanges,
    TicketQuery,
};
use crate::error::SupportError;
use crate::fakes::{FakeIndex, FakeStore};
use crate::lifecycle::Lifecycle;
use crate::thread::EventKind;
use crate::{ArticleStatus, Category, Priority, Ticket, TicketStatus, Voter};
use chrono::{Duration, TimeZone, Utc};
use devforge_domain::{ManualClock, PageRequest, Role, UserId};
use std::sync::Arc;

struct World {
    service: SupportService<FakeStore, ManualClock>,
    store: FakeStore,
    index: Arc<FakeIndex>,
    clock: ManualClock,
    customer: Actor,
    other: Actor,
    agent: Actor,
}

fn world() -> World {
    let store = FakeStore::default();
    let start = Utc
        .with_ymd_and_hms(2026, 11, 1, 9, 0, 0)
        .single()
        .unwrap_or_default();
    let clock = ManualClock::starting_at(start);
    let config = SupportConfig {
        lifecycle: Lifecycle::default(),
        auto_assign: false,
    };
    let actor = |role| Actor {
        user_id: UserId::generate(),
        role,
    };
    let agent = actor(Role::Support);
    store.add_staff(agent.user_id);
    let index = Arc::new(FakeIndex::default());
    World {
        service: SupportService::new(store.clone(), clock.clone(), config, index.clone()),
        store,
        index,
        clock,
        customer: actor(Role::User),
        other: actor(Role::User),
        agent,
    }
}

async fn opened(world: &World) -> Result<Ticket, SupportError> {
    let request = OpenTicket {
        subject: "It crashes".into(),
        body: "On start".into(),
        category: Category::Technical,
        priority: None,
        license_id: None,
        payment_id: None,
    };
    world.service.open_ticket(world.customer, request).await
}

fn status(to: TicketStatus) -> TicketChanges {
    TicketChanges {
        status: Some(to),
        ..TicketChanges::default()
    }
}

#[tokio::test]
async fn a_resolved_ticket_can_be_reopened_for_fourteen_days_then_reads_closed()
-> Result<(), SupportError> {
    let w = world();
    let ticket = opened(&w).await?;
    for to in [TicketStatus::InProgress, TicketStatus::Resolved] {
        w.service
            .change_ticket(w.agent, ticket.id, status(to))
            .await?;
    }
    w.clock.advance(Duration::days(13));
    let reopened = w
        .service
        .change_ticket(w.customer, ticket.id, status(TicketStatus::Open))
        .await?;
    assert_eq!(reopened.status, TicketStatus::Open);
    assert_eq!(reopened.resolved_at, None);

    for to in [TicketStatus::InProgress, TicketStatus::Resolved] {
        w.service
            .change_ticket(w.agent, ticket.id, status(to))
            .await?;
    }
    let resolved_at = w.clock_now();
    w.clock.advance(Duration::days(14));
    let read = w.service.ticket(w.customer, ticket.id).await?;
    assert_eq!(read.status, TicketStatus::Closed);
    assert_eq!(read.closed_at, Some(resolved_at + Duration::days(14)));
    let late = w
        .service
        .post_message(w.customer, ticket.id, "hello?", false)
        .await;
    assert!(
        matches!(late, Err(SupportError::InvalidTransition(ref refused)) if refused.allowed.is_empty()),
        "{late:?}"
    );
    Ok(())
}

impl World {
    fn clock_now(&self) -> chrono::DateTime<Utc> {
        use devforge_domain::Clock as _;
        self.clock.now()
    }
}

#[tokio::test]
async fn the_first_response_is_the_first_public_staff_reply() -> Result<(), SupportError> {
    let w = world();
    let ticket = opened(&w).await?;
    w.clock.advance(Duration::minutes(5));
    w.service
        .post_message(w.agent, ticket.id, "note", true)
        .await?;
    assert_eq!(
        w.service
            .ticket(w.agent, ticket.id)
            .await?
            .first_response_at,
        None
    );
    w.clock.advance(Duration::minutes(5));
    let answered_at = w.clock_now();
    w.service
        .post_message(w.agent, ticket.id, "Which version?", false)
        .await?;
    w.clock.advance(Duration::minutes(5));
    w.service
        .post_message(w.agent, ticket.id, "Any news?", false)
        .await?;
    let read = w.service.ticket(w.customer, ticket.id).await?;
    assert_eq!(read.first_response_at, Some(answered_at));
    assert_eq!(read.last_activity_at, answered_at + Duration::minutes(5));
    Ok(())
}

#[tokio::test]
async fn other_customers_get_not_found_before_any_forbidden() -> Result<(), SupportError> {
    let w = world();
    let ticket = opened(&w).await?;
    let bump = TicketChanges {
        priority: Some(Priority::Urgent),
        ..TicketChanges::default()
    };
    let other = w.service.change_ticket(w.other, ticket.id, bump).await;
    assert!(
        matches!(other, Err(SupportError::TicketNotFound)),
        "{other:?}"
    );
    let owner = w.service.change_ticket(w.customer, ticket.id, bump).await;
    assert!(
        matches!(owner, Err(SupportError::Forbidden(_))),
        "{owner:?}"
    );
    let assign = w
        .service
        .assign(w.other, ticket.id, Some(w.agent.user_id))
        .await;
    assert!(
        matches!(assign, Err(SupportError::TicketNotFound)),
        "{assign:?}"
    );
    let note = w.service.post_message(w.other, ticket.id, "x", true).await;
    assert!(
        matches!(note, Err(SupportError::TicketNotFound)),
        "{note:?}"
    );
    let listed = w
        .service
        .tickets(w.other, TicketQuery::default(), PageRequest::default())
        .await?;
    assert_eq!(listed.total, 0);
    Ok(())
}

#[tokio::test]
async fn only_enabled_staff_can_be_assigned_and_each_change_is_an_event() -> Result<(), SupportError>
{
    let w = world();
    let ticket = opened(&w).await?;
    let refused = w
        .service
        .assign(w.agent, ticket.id, Some(w.customer.user_id))
        .await;
    assert!(
        matches!(refused, Err(SupportError::InvalidAssignee)),
        "{refused:?}"
    );
    let assigned = w
        .service
        .assign(w.agent, ticket.id, Some(w.agent.user_id))
        .await?;
    assert_eq!(assigned.assignee, Some(w.agent.user_id));
    let again = w
        .service
        .assign(w.agent, ticket.id, Some(w.agent.user_id))
        .await?;
    assert_eq!(again.assignee, Some(w.agent.user_id));
    let kinds: Vec<EventKind> = w
        .store
        .events_of(ticket.id)
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [EventKind::Created, EventKind::Assignee],
        "a no-op is no event"
    );
    Ok(())
}

#[tokio::test]
async fn a_lost_race_is_retried_and_endless_ones_end_in_conflict() -> Result<(), SupportError> {
    let w = world();
    let ticket = opened(&w).await?;
    w.store.interfere(2);
    let moved = w
        .service
        .change_ticket(w.agent, ticket.id, status(TicketStatus::InProgress))
        .await?;
    assert_eq!(moved.status, TicketStatus::InProgress);
    w.store.interfere(100);
    let stuck = w
        .service
        .change_ticket(w.agent, ticket.id, status(TicketStatus::Resolved))
        .await;
    assert!(matches!(stuck, Err(SupportError::Conflict)), "{stuck:?}");
    Ok(())
}

#[tokio::test]
async fn customers_search_without_internal_notes() -> Result<(), SupportError> {
    let w = world();
    let ticket = opened(&w).await?;
    w.service
        .post_message(w.agent, ticket.id, "suspected fraud", true)
        .await?;
    let query = TicketQuery {
        q: Some("fraud".into()),
        ..TicketQuery::default()
    };
    let mine = w
        .service
        .tickets(w.customer, query.clone(), PageRequest::default())
        .await?;
    assert_eq!(mine.total, 0);
    let staff = w
        .service
        .tickets(w.agent, query, PageRequest::default())
        .await?;
    assert_eq!(staff.total, 1);
    Ok(())
}

fn article(slug: &str, status: ArticleStatus) -> NewArticle {
    NewArticle {
        slug: slug.into(),
        title: "Installing".into(),
        body: "Press install.".into(),
        category: "getting-started".into(),
        tags: vec!["install".into()],
        status: Some(status),
    }
}

#[tokio::test]
async fn articles_are_written_by_staff_and_read_by_everyone_once_published()
-> Result<(), SupportError> {
    let w = world();
    let refused = w
        .service
        .create_article(w.customer, article("guide", ArticleStatus::Draft))
        .await;
    assert!(
        matches!(refused, Err(SupportError::Forbidden(_))),
        "{refused:?}"
    );
    let draft = w
        .service
        .create_article(w.agent, article("guide", ArticleStatus::Draft))
        .await?;
    assert_eq!(draft.published_at, None);
    let taken = w
        .service
        .create_article(w.agent, article("guide", ArticleStatus::Draft))
        .await;
    assert!(matches!(taken, Err(SupportError::SlugTaken)), "{taken:?}");
    for viewer in [None, Some(w.customer)] {
        let hidden = w.service.read_article(viewer, "guide").await;
        assert!(
            matches!(hidden, Err(SupportError::ArticleNotFound)),
            "{hidden:?}"
        );
    }
    assert_eq!(
        w.service.read_article(Some(w.agent), "guide").await?.views,
        1
    );

    w.clock.advance(Duration::hours(1));
    let publish = ArticleChanges {
        status: Some(ArticleStatus::Published),
        ..ArticleChanges::default()
    };
    let published = w
        .service
        .update_article(w.agent, "guide", publish.clone())
        .await?;
    assert_eq!(published.published_at, Some(w.clock_now()));
    w.clock.advance(Duration::hours(1));
    let again = w.service.update_article(w.agent, "guide", publish).await?;
    assert_eq!(
        again.published_at, published.published_at,
        "first publication is kept"
    );
    assert_eq!(w.service.read_article(None, "guide").await?.views, 2);
    Ok(())
}

#[tokio::test]
async fn text_changes_are_revisions_and_restoring_adds_one() -> Result<(), SupportError> {
    let w = world();
    w.service
        .create_article(w.agent, article("guide", ArticleStatus::Published))
        .await?;
    let retitle = ArticleChanges {
        title: Some("Installing, step by step".into()),
        ..ArticleChanges::default()
    };
    assert_eq!(
        w.service
            .update_article(w.agent, "guide", retitle.clone())
            .await?
            .revision,
        2
    );
    assert_eq!(
        w.service
            .update_article(w.agent, "guide", retitle)
            .await?
            .revision,
        2
    );
    let restored = w.service.restore_revision(w.agent, "guide", 1).await?;
    assert_eq!(
        (restored.revision, restored.text.title.as_str()),
        (3, "Installing")
    );
    let missing = w.service.restore_revision(w.agent, "guide", 9).await;
    assert!(
        matches!(missing, Err(SupportError::RevisionNotFound)),
        "{missing:?}"
    );
    let revisions = w
        .service
        .revisions(w.agent, "guide", PageRequest::default())
        .await?;
    let numbers: Vec<u32> = revisions.items.iter().map(|r| r.number).collect();
    assert_eq!(numbers, [3, 2, 1]);
    Ok(())
}

#[tokio::test]
async fn one_vote_per_voter_which_may_change() -> Result<(), SupportError> {
    let w = world();
    w.service
        .create_article(w.agent, article("guide", ArticleStatus::Published))
        .await?;
    let voter = Voter::User(w.customer.user_id);
    w.service.feedback(voter.clone(), "guide", true).await?;
    let same = w.service.feedback(voter.clone(), "guide", true).await?;
    assert_eq!((same.helpful_yes, same.helpful_no), (1, 0));
    let changed = w.service.feedback(voter, "guide", false).await?;
    assert_eq!((changed.helpful_yes, changed.helpful_no), (0, 1));
    let day = w.clock_now().date_naive();
    let anonymous = Voter::Anonymous {
        client: "abc".into(),
        day,
    };
    let counted = w.service.feedback(anonymous, "guide", true).await?;
    assert_eq!((counted.helpful_yes, counted.helpful_no), (1, 1));
    Ok(())
}

#[tokio::test]
async fn search_rebuilds_the_index_only_after_a_change_to_what_it_reads() -> Result<(), SupportError>
{
    let w = world();
    w.service
        .create_article(w.agent, article("guide", ArticleStatus::Published))
        .await?;
    let search = |q: &'static str| {
        w.service
            .articles(None, None, None, None, Some(q), PageRequest::default())
    };
    let found = search("install").await?;
    assert_eq!((found.total, w.index.rebuilds()), (1, 1));
    assert!(
        found.items[0].snippet.is_some(),
        "a search hit carries a snippet"
    );
    search("press").await?;
    assert_eq!(w.index.rebuilds(), 1, "nothing changed, nothing rebuilt");

    w.service
        .feedback(Voter::User(w.customer.user_id), "guide", true)
        .await?;
    let voted = search("install").await?;
    assert_eq!(w.index.rebuilds(), 1, "a vote is not searched");
    assert_eq!(
        voted.items[0].article.helpful_yes, 1,
        "hits are read back from the store"
    );

    let archive = ArticleChanges {
        status: Some(ArticleStatus::Archived),
        ..ArticleChanges::default()
    };
    w.service.update_article(w.agent, "guide", archive).await?;
    assert_eq!(search("install").await?.total, 0, "archived is not public");
    assert_eq!(w.index.rebuilds(), 2);
    assert_eq!(
        search("the").await?.total,
        0,
        "only stop words match nothing"
    );
    Ok(())
}

#[tokio::test]
async fn searches_that_find_the_index_behind_together_rebuild_it_once() -> Result<(), SupportError>
{
    let w = world();
    w.service
        .create_article(w.agent, article("guide", ArticleStatus::Published))
        .await?;
    let searches = (0..8).map(|_| {
        w.service.articles(
            None,
            None,
            None,
            None,
            Some("install"),
            PageRequest::default(),
        )
    });
    for found in futures_util::future::join_all(searches).await {
        assert_eq!(found?.total, 1);
    }
    assert_eq!(w.index.rebuilds(), 1);
    Ok(())
}
