use super::{Action, Lifecycle, Party};
use crate::ticket::TicketStatus::{self, Closed, InProgress, Open, Resolved, WaitingOnCustomer};
use chrono::{DateTime, Duration, TimeZone, Utc};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0)
        .single()
        .unwrap_or_else(Utc::now)
}

/// The whole table of explicit status changes: (party, from, to) → allowed.
const STAFF_ALLOWED: [(TicketStatus, TicketStatus); 7] = [
    (Open, InProgress),
    (InProgress, WaitingOnCustomer),
    (InProgress, Resolved),
    (WaitingOnCustomer, InProgress),
    (WaitingOnCustomer, Resolved),
    (Resolved, Open),
    (Resolved, Closed),
];
const REQUESTER_ALLOWED: [(TicketStatus, TicketStatus); 5] = [
    (Open, Closed),
    (InProgress, Closed),
    (WaitingOnCustomer, Closed),
    (Resolved, Closed),
    (Resolved, Open),
];

#[test]
fn every_explicit_transition_is_allowed_or_refused_as_the_table_says() {
    let lifecycle = Lifecycle::default();
    let resolved_at = Some(now() - Duration::days(1));
    for (party, table) in [
        (Party::Staff, &STAFF_ALLOWED[..]),
        (Party::Requester, &REQUESTER_ALLOWED[..]),
    ] {
        for from in TicketStatus::ALL {
            for to in TicketStatus::ALL {
                let result =
                    lifecycle.apply(from, resolved_at, now(), party, Action::SetStatus(to));
                let expected = table.contains(&(from, to));
                assert_eq!(
                    result.is_ok(),
                    expected,
                    "{party:?}: {} -> {}",
                    from.as_str(),
                    to.as_str()
                );
                if let Err(refused) = result {
                    assert_eq!(refused.from, from);
                    assert_eq!(refused.to, Some(to));
                    let listed: Vec<TicketStatus> = table
                        .iter()
                        .filter(|(f, _)| *f == from)
                        .map(|(_, t)| *t)
                        .collect();
                    let mut allowed = refused.allowed.clone();
                    allowed.sort();
                    let mut listed = listed;
                    listed.sort();
                    assert_eq!(
                        allowed,
                        listed,
                        "allowed next states from {}",
                        from.as_str()
                    );
                }
            }
        }
    }
}

#[test]
fn closed_is_final_for_everyone() {
    let lifecycle = Lifecycle::default();
    for party in [Party::Staff, Party::Requester] {
        for to in TicketStatus::ALL {
            assert!(
                lifecycle
                    .apply(Closed, None, now(), party, Action::SetStatus(to))
                    .is_err()
            );
        }
        let reply = lifecycle.apply(Closed, None, now(), party, Action::Reply);
        assert!(reply.is_err_and(|e| e.to.is_none() && e.allowed.is_empty()));
    }
}

#[test]
fn a_customer_reply_hands_a_waiting_ticket_back_to_staff() {
    let lifecycle = Lifecycle::default();
    let reply = |from, party| lifecycle.apply(from, Some(now()), now(), party, Action::Reply);
    assert_eq!(reply(WaitingOnCustomer, Party::Requester), Ok(InProgress));
    assert_eq!(reply(Open, Party::Requester), Ok(Open));
    assert_eq!(reply(InProgress, Party::Requester), Ok(InProgress));
    assert_eq!(
        reply(WaitingOnCustomer, Party::Staff),
        Ok(WaitingOnCustomer),
        "staff replies do not move it"
    );
}

#[test]
fn a_customer_reply_reopens_a_resolved_ticket_only_within_the_window() {
    let lifecycle = Lifecycle {
        reopen_window: Duration::days(7),
    };
    let recent = Some(now() - Duration::days(6));
    let old = Some(now() - Duration::days(7));
    assert_eq!(
        lifecycle.apply(Resolved, recent, now(), Party::Requester, Action::Reply),
        Ok(Open)
    );
    let late = lifecycle.apply(Resolved, old, now(), Party::Requester, Action::Reply);
    assert!(
        late.is_err_and(|e| e.from == Closed),
        "after the window it is closed"
    );
    let reopen = lifecycle.apply(
        Resolved,
        old,
        now(),
        Party::Requester,
        Action::SetStatus(Open),
    );
    assert!(reopen.is_err());
    assert_eq!(lifecycle.effective(Resolved, old, now()), Closed);
    assert_eq!(lifecycle.effective(Resolved, recent, now()), Resolved);
    assert_eq!(lifecycle.effective(InProgress, old, now()), InProgress);
}
