//! Issue 11 §1 for SMTP: once an exchange on a held session failed so that
//! replies can no longer be matched (a timeout mid-reply, a pipelined batch
//! read halfway, a malformed reply, the final '.' unanswered), every further
//! use of that session is `Error::Broken` before anything is sent: never
//! another command's reply. Against scripted peers that answer late on cue,
//! and against the real server.

#[path = "smtp_support.rs"]
mod smtp_support;

use std::sync::mpsc;
use std::time::Duration;

use integration_tests::unique;
use smtp_client::{BrokenCause, Error};
use smtp_support::*;

const SHORT: Duration = Duration::from_millis(100);

/// Every line the client sends after the scripted part, until it closes.
fn drain(p: &mut Peer) {
    while p.line().is_some() {}
}

/// The client's second send on the held session must be refused as
/// broken with `cause`, and the peer must see nothing after its script.
fn second_use_is_refused(
    script: Script,
    first: impl FnOnce(&Error) -> bool,
    cause: BrokenCause,
    release: mpsc::Sender<()>,
) -> Vec<String> {
    let (port, _l, handle) = serve(vec![script]);
    let client = peer_client(port).build().unwrap();
    let mut session = client.session().unwrap();
    session.conn().set_read_timeout(Some(SHORT));
    let err = client.send_on(&mut session, &simple("first")).unwrap_err();
    assert!(first(&err), "first send: {err:?}");
    // The late replies now arrive; a client that went on would read them as
    // the answers to its next commands.
    release.send(()).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    session
        .conn()
        .set_read_timeout(Some(Duration::from_secs(5)));
    for _ in 0..2 {
        let again = client.send_on(&mut session, &simple("second")).unwrap_err();
        assert!(
            matches!(again, Error::Broken { cause: c } if c == cause),
            "second send: {again:?}"
        );
        assert!(again.is_broken() && !again.is_retryable());
    }
    assert_eq!(session.session_ref().broken(), Some(cause));
    drop(session);
    assert_eq!(
        client.stats().open_now,
        0,
        "a broken session went back to the pool"
    );
    let logs = handle.join().unwrap();
    logs.into_iter().next().unwrap()
}

#[test]
fn timeout_mid_reply_breaks_the_held_session() {
    let (tx, rx) = mpsc::channel();
    let log = second_use_is_refused(
        Box::new(move |p: &mut Peer| {
            p.hello(&[]);
            p.expect("MAIL FROM:");
            rx.recv().unwrap();
            p.send("250 late\r\n");
            drain(p);
        }),
        Error::is_timeout,
        BrokenCause::Timeout,
        tx,
    );
    assert_eq!(
        log.iter().filter(|l| l.starts_with("MAIL")).count(),
        1,
        "{log:?}"
    );
    assert!(!log.iter().any(|l| l.starts_with("RCPT")), "{log:?}");
}

#[test]
fn pipelined_batch_read_halfway_breaks_the_held_session() {
    let (tx, rx) = mpsc::channel();
    let log = second_use_is_refused(
        Box::new(move |p: &mut Peer| {
            p.hello(&["PIPELINING"]);
            p.expect("MAIL FROM:");
            p.expect("RCPT TO:");
            p.send("250 mail ok\r\n");
            rx.recv().unwrap();
            p.send("250 rcpt ok\r\n");
            drain(p);
        }),
        Error::is_timeout,
        BrokenCause::Timeout,
        tx,
    );
    assert_eq!(log.len(), 3, "EHLO, MAIL, RCPT and nothing else: {log:?}");
}

#[test]
fn malformed_reply_breaks_the_held_session() {
    let (tx, _rx) = mpsc::channel();
    let log = second_use_is_refused(
        Box::new(|p: &mut Peer| {
            p.hello(&[]);
            p.expect("MAIL FROM:");
            // Garbage, then what would look like a good reply to what follows.
            p.send("2500 what\r\n250 ok\r\n250 ok\r\n354 go\r\n");
            drain(p);
        }),
        |e| matches!(e, Error::Protocol(_)),
        BrokenCause::Protocol,
        tx,
    );
    assert_eq!(log.len(), 2, "{log:?}");
}

#[test]
fn unanswered_final_dot_is_unknown_and_breaks_the_held_session() {
    let (tx, rx) = mpsc::channel();
    let log = second_use_is_refused(
        Box::new(move |p: &mut Peer| {
            p.hello(&[]);
            p.expect("MAIL FROM:");
            p.send("250 ok\r\n");
            p.expect("RCPT TO:");
            p.send("250 ok\r\n");
            p.expect("DATA");
            p.send("354 go\r\n");
            p.data();
            rx.recv().unwrap();
            p.send("250 queued late\r\n");
            drain(p);
        }),
        |e| matches!(e, Error::DeliveryUnknown(inner) if inner.is_timeout()),
        BrokenCause::Timeout,
        tx,
    );
    assert_eq!(log.iter().filter(|l| *l == "<data>").count(), 1, "{log:?}");
}

#[test]
fn code_421_breaks_the_held_session() {
    let (tx, _rx) = mpsc::channel();
    let log = second_use_is_refused(
        Box::new(|p: &mut Peer| {
            p.hello(&[]);
            p.expect("MAIL FROM:");
            p.send("421 4.3.2 shutting down\r\n");
            drain(p);
        }),
        |e| e.code() == Some(421),
        BrokenCause::ServerClosing,
        tx,
    );
    assert_eq!(log.len(), 2, "{log:?}");
}

#[test]
fn refusal_is_not_breakage_the_held_session_resets_and_goes_on() {
    let (port, _l, handle) = serve(vec![Box::new(|p: &mut Peer| {
        p.hello(&[]);
        p.expect("MAIL FROM:");
        p.send("250 ok\r\n");
        p.expect("RCPT TO:");
        p.send("550 5.1.1 no such user\r\n");
        p.expect("RSET");
        p.send("250 reset\r\n");
        p.mail(1);
    })]);
    let client = peer_client(port).build().unwrap();
    let mut session = client.session().unwrap();
    let err = client.send_on(&mut session, &simple("a")).unwrap_err();
    assert!(matches!(err, Error::RecipientsRefused(_)), "{err}");
    assert_eq!(session.session_ref().broken(), None);
    let sent = client.send_on(&mut session, &simple("b")).unwrap();
    assert_eq!(sent.reply.code, 250);
    drop(session);
    drop(client);
    let log = handle.join().unwrap().remove(0);
    assert_eq!(log.iter().filter(|l| *l == "RSET").count(), 1, "{log:?}");
}

// ---- the real server ---------------------------------------------------------

#[test]
fn real_server_held_session_sends_several_and_recovers_from_refusals() {
    let client = real_client(&smtp_url());
    let run = unique("held");
    let mut session = client.session().unwrap();
    let refused = smtp_client::Message::builder()
        .from("sender@example.com")
        .to("reject-me@example.com")
        .subject(&format!("{run}-refused"))
        .text_body("never delivered\n")
        .build()
        .unwrap();
    let err = client.send_on(&mut session, &refused).unwrap_err();
    assert!(matches!(err, Error::RecipientsRefused(_)), "{err}");
    for i in 0..3 {
        let marker = format!("{run}-{i}-end");
        client
            .send_on(&mut session, &text_mail(&marker, &["rcpt@example.com"]))
            .unwrap();
        assert_eq!(delivered(&marker).len(), 1);
    }
    drop(session);
    assert!(delivered(&format!("{run}-refused")).is_empty());
    assert_eq!(client.stats().opened, 1);
}

/// A peer that never answers the mail is not needed to prove the rule on a
/// real server: a deadline that has already passed fails the exchange at
/// once, and the session must then refuse before writing a byte.
#[test]
fn real_server_held_session_refuses_after_a_failed_exchange() {
    let client = real_client(&smtp_url());
    let run = unique("held-broken");
    let mut session = client.session().unwrap();
    session.conn().set_deadline(Some(std::time::Instant::now()));
    let err = client
        .send_on(
            &mut session,
            &text_mail(&format!("{run}-a"), &["rcpt@example.com"]),
        )
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    session.conn().set_deadline(None);
    let err = client
        .send_on(
            &mut session,
            &text_mail(&format!("{run}-b"), &["rcpt@example.com"]),
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Broken {
                cause: BrokenCause::Timeout
            }
        ),
        "{err:?}"
    );
    drop(session);
    assert!(delivered(&run).is_empty());
    // The pool closed it; the next mail goes on a fresh session.
    client
        .send(&text_mail(&format!("{run}-c"), &["rcpt@example.com"]))
        .unwrap();
    assert_eq!(client.stats().opened, 2);
}
