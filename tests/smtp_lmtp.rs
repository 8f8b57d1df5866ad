//! Issue 17, LMTP (RFC 2033): LHLO, and after the data one reply per
//! accepted recipient, each that recipient's result. Against the LMTP
//! server of scripts/servers.d/smtp-extra.sh (aiosmtpd's LMTP, answering
//! per recipient) and scripted peers.

#[path = "smtp_support.rs"]
mod smtp_support;

use integration_tests::unique;
use smtp_client::proto::data::normalise;
use smtp_client::{Error, Message, SmtpClient, StartTls};
use smtp_support::*;

fn lmtp_client() -> SmtpClient {
    SmtpClient::from_url(&lmtp_url())
        .unwrap()
        .starttls(StartTls::None)
        .build()
        .unwrap()
}

fn mail(run: &str, to: &[&str]) -> Message {
    let mut b = Message::builder()
        .from("sender@example.com")
        .subject(run)
        .text_body(&format!("lmtp body {run}\n.dot line\n"));
    for t in to {
        b = b.to(t);
    }
    b.build().unwrap()
}

#[test]
fn two_of_three_recipients_accepted_after_the_data() {
    let run = unique("lmtp");
    let msg = mail(
        &run,
        &[
            "one@example.com",
            "full-two@example.com",
            "three@example.com",
        ],
    );
    let client = lmtp_client();
    let sent = client.send(&msg).unwrap();
    let accepted: Vec<_> = sent.accepted.iter().map(|a| a.as_str()).collect();
    assert_eq!(accepted, ["one@example.com", "three@example.com"]);
    assert_eq!(sent.refused.len(), 1);
    assert_eq!(sent.refused[0].recipient.as_str(), "full-two@example.com");
    assert_eq!(sent.refused[0].reply.code, 552);
    let stored = stored_in(&lmtp_maildir(), &run);
    assert_eq!(stored.len(), 2, "one copy per recipient that took it");
    for s in &stored {
        assert_eq!(s.eml, normalise(msg.content()), "not byte for byte");
        assert!(s.meta.contains("\"transport\": \"tcp\""), "{}", s.meta);
    }
    assert!(stored.iter().any(|s| s.meta.contains("one@example.com")));
    assert!(stored.iter().any(|s| s.meta.contains("three@example.com")));
    // The session is clean afterwards and serves the next mail.
    let again = unique("lmtp-again");
    client.send(&mail(&again, &["four@example.com"])).unwrap();
    assert_eq!(client.stats().opened, 1);
    assert_eq!(stored_in(&lmtp_maildir(), &again).len(), 1);
}

#[test]
fn every_recipient_refused_after_the_data_is_an_error() {
    let run = unique("lmtp-none");
    let msg = mail(&run, &["full-a@example.com", "later-b@example.com"]);
    let err = lmtp_client().send(&msg).unwrap_err();
    let Error::RecipientsRefused(refused) = &err else {
        panic!("{err:?}")
    };
    let codes: Vec<u16> = refused.iter().map(|r| r.reply.code).collect();
    assert_eq!(codes, [552, 452]);
    assert!(stored_in(&lmtp_maildir(), &run).is_empty());
}

#[test]
fn refused_at_rcpt_time_gets_no_reply_after_the_data() {
    let run = unique("lmtp-rcpt");
    let msg = mail(&run, &["reject-x@example.com", "ok@example.com"]);
    let sent = lmtp_client().send(&msg).unwrap();
    assert_eq!(sent.accepted.len(), 1);
    assert_eq!(sent.refused[0].reply.code, 550);
    assert_eq!(stored_in(&lmtp_maildir(), &run).len(), 1);
}

#[test]
fn scripted_lmtp_peer_two_of_three_and_lhlo() {
    let (port, _l, handle) = serve(vec![Box::new(|p: &mut Peer| {
        p.send("220 lmtp ready\r\n");
        p.expect("LHLO ");
        p.send("250-lmtp\r\n250 PIPELINING\r\n");
        p.expect("MAIL FROM:");
        for _ in 0..3 {
            p.expect("RCPT TO:");
        }
        p.send("250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n");
        p.expect("DATA");
        p.send("354 go\r\n");
        p.data();
        p.send("250 2.0.0 a ok\r\n550 5.2.1 b disabled\r\n250 2.0.0 c ok\r\n");
    })]);
    let client = SmtpClient::builder("127.0.0.1")
        .port(port)
        .lmtp(true)
        .starttls(StartTls::None)
        .build()
        .unwrap();
    let sent = client
        .send(&mail(
            "x",
            &["a@example.com", "b@example.com", "c@example.com"],
        ))
        .unwrap();
    assert_eq!(sent.accepted.len(), 2);
    assert_eq!(sent.refused[0].recipient.as_str(), "b@example.com");
    assert_eq!(sent.reply.message(), "a ok");
    let log = handle.join().unwrap().remove(0);
    assert!(!log
        .iter()
        .any(|l| l.starts_with("EHLO") || l.starts_with("HELO")));
}

#[test]
fn lmtp_peer_gone_after_one_of_two_final_replies_is_unknown() {
    let (port, listener, handle) = serve(vec![Box::new(|p: &mut Peer| {
        p.send("220 lmtp\r\n");
        p.expect("LHLO");
        p.send("250 lmtp\r\n");
        p.expect("MAIL FROM:");
        p.send("250 ok\r\n");
        p.expect("RCPT TO:");
        p.send("250 ok\r\n");
        p.expect("RCPT TO:");
        p.send("250 ok\r\n");
        p.expect("DATA");
        p.send("354 go\r\n");
        p.data();
        p.send("250 first delivered\r\n");
    })]);
    let client = SmtpClient::builder("127.0.0.1")
        .port(port)
        .lmtp(true)
        .starttls(StartTls::None)
        .build()
        .unwrap();
    let err = client
        .send(&mail("y", &["a@example.com", "b@example.com"]))
        .unwrap_err();
    assert!(matches!(err, Error::DeliveryUnknown(_)), "{err:?}");
    handle.join().unwrap();
    assert!(no_more_connections(&listener), "the mail was sent again");
}

#[test]
fn lmtp_refuses_helo_fallback() {
    let (port, _l, handle) = serve(vec![Box::new(|p: &mut Peer| {
        p.send("220 not lmtp\r\n");
        p.expect("LHLO");
        p.send("500 what\r\n");
        let _ = p.line();
    })]);
    let client = SmtpClient::builder("127.0.0.1")
        .port(port)
        .lmtp(true)
        .starttls(StartTls::None)
        .build()
        .unwrap();
    let err = client.send(&mail("z", &["a@example.com"])).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Server {
                command: "LHLO",
                code: 500,
                ..
            }
        ),
        "{err:?}"
    );
    let log = handle.join().unwrap().remove(0);
    assert_eq!(log.len(), 1, "{log:?}");
}

/// The LMTP server's Unix socket (scripts/servers.d/smtp-extra.sh).
fn lmtp_socket() -> String {
    std::env::var("PCONN_LMTP_SOCKET").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../.servers/run/lmtp.sock").into()
    })
}

#[test]
fn over_the_unix_socket_one_reply_per_recipient_pooled_by_path() {
    let run = unique("lmtp-unix");
    let msg = mail(
        &run,
        &[
            "one@example.com",
            "full-two@example.com",
            "three@example.com",
        ],
    );
    let client = SmtpClient::from_url(&format!("lmtp+unix://{}", lmtp_socket()))
        .unwrap()
        .build()
        .unwrap();
    let sent = client.send(&msg).unwrap();
    let accepted: Vec<_> = sent.accepted.iter().map(|a| a.as_str()).collect();
    assert_eq!(accepted, ["one@example.com", "three@example.com"]);
    assert_eq!(sent.refused.len(), 1);
    assert_eq!(sent.refused[0].recipient.as_str(), "full-two@example.com");
    assert_eq!(sent.refused[0].reply.code, 552);
    let stored = stored_in(&lmtp_maildir(), &run);
    assert_eq!(stored.len(), 2, "one copy per recipient that took it");
    for s in &stored {
        assert_eq!(s.eml, normalise(msg.content()), "not byte for byte");
        assert!(s.meta.contains("\"transport\": \"unix\""), "{}", s.meta);
    }
    // The next mail reuses the pooled socket connection.
    let again = unique("lmtp-unix-again");
    client.send(&mail(&again, &["four@example.com"])).unwrap();
    assert_eq!(client.stats().opened, 1);
    assert_eq!(client.stats().reused, 1);
    assert_eq!(stored_in(&lmtp_maildir(), &again).len(), 1);
    // The builder method is the same route as the URL.
    let via_builder = SmtpClient::builder("localhost")
        .lmtp(true)
        .unix_socket(lmtp_socket())
        .build()
        .unwrap();
    let third = unique("lmtp-unix-builder");
    via_builder
        .send(&mail(&third, &["five@example.com"]))
        .unwrap();
    assert_eq!(stored_in(&lmtp_maildir(), &third).len(), 1);
}

#[test]
fn a_missing_socket_is_a_transport_error_before_anything_is_sent() {
    let client = SmtpClient::from_url("lmtp+unix:///nonexistent/pconn-lmtp.sock")
        .unwrap()
        .build()
        .unwrap();
    let err = client
        .send(&mail(&unique("lmtp-none"), &["a@example.com"]))
        .unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
}
