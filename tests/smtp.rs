//! smtp-client against the real SMTP server (aiosmtpd from scripts/servers.sh)
//! and against in-test hostile peers that play a broken or malicious server.

use std::io::Write;
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

#[path = "smtp_support.rs"]
mod smtp_support;

use integration_tests::{env_or, host_port, unique};
use smtp_client::proto::data::normalise;
use smtp_client::{Address, Credentials, EhloName, Envelope, Error, Message, SmtpClient, StartTls};
use smtp_support::*;
use transport::Discard;

// ---- the real server ------------------------------------------------------

fn hundred_mails_one_connection(url: &str, port: u16) {
    let client = real_client(url);
    let run = unique("hundred");
    for i in 0..100 {
        let sent = client
            .send(&text_mail(
                &format!("{run}-mail-{i}-end"),
                &["rcpt@example.com"],
            ))
            .unwrap();
        assert_eq!(sent.reply.code, 250);
        assert!(sent.queue_id().is_some(), "{}", sent.reply);
        assert_eq!(sent.reused, i > 0);
    }
    let stats = client.stats();
    assert_eq!((stats.opened, stats.reused), (1, 99), "{stats:?}");
    let stored = delivered(&run);
    assert_eq!(stored.len(), 100);
    for i in 0..100 {
        let needle = format!("{run}-mail-{i}-end");
        let copies = stored
            .iter()
            .filter(|s| s.eml.windows(needle.len()).any(|w| w == needle.as_bytes()))
            .count();
        assert_eq!(copies, 1, "mail {i} delivered {copies} times");
    }
    for s in &stored {
        assert!(s.meta.contains("\"tls\": true"), "{}", s.meta);
        assert!(s.meta.contains("\"auth_user\": \"pconn\""), "{}", s.meta);
        assert!(s.meta.contains(&format!("\"port\": {port}")), "{}", s.meta);
    }
}

#[test]
fn hundred_mails_over_one_starttls_connection_with_auth() {
    hundred_mails_one_connection(&smtp_url(), host_port(&smtp_url(), 587).1);
}

#[test]
fn hundred_mails_over_one_implicit_tls_connection_with_auth() {
    hundred_mails_one_connection(&smtps_url(), host_port(&smtps_url(), 465).1);
}

#[test]
fn refused_recipient_is_reported_and_the_others_get_the_mail() {
    let client = real_client(&smtp_url());
    let marker = unique("partial");
    let sent = client
        .send(&text_mail(
            &marker,
            &[
                "ok1@example.com",
                "reject-me@example.com",
                "ok2@example.com",
            ],
        ))
        .unwrap();
    let accepted: Vec<_> = sent.accepted.iter().map(Address::as_str).collect();
    assert_eq!(accepted, ["ok1@example.com", "ok2@example.com"]);
    assert_eq!(sent.refused.len(), 1);
    assert_eq!(sent.refused[0].recipient.as_str(), "reject-me@example.com");
    assert_eq!(sent.refused[0].reply.code, 550);
    assert_eq!(
        sent.refused[0].reply.enhanced.map(|e| e.to_string()),
        Some("5.1.1".into())
    );
    let stored = delivered(&marker);
    assert_eq!(stored.len(), 1);
    assert!(
        stored[0].meta.contains("ok1@example.com") && stored[0].meta.contains("ok2@example.com")
    );
    assert!(!stored[0].meta.contains("reject-me"));
}

#[test]
fn aborted_transaction_is_reset_and_the_next_mail_goes_through() {
    let client = real_client(&smtp_url());
    // All recipients refused: MAIL was accepted, so the server holds an open
    // transaction that only RSET clears (else the next MAIL gets 503).
    let refused = unique("refused");
    let err = client
        .send(&text_mail(
            &refused,
            &["reject-a@example.com", "reject-b@example.com"],
        ))
        .unwrap_err();
    match err {
        Error::RecipientsRefused(r) => assert_eq!(r.len(), 2),
        other => panic!("expected RecipientsRefused, got {other:?}"),
    }
    // Too large for the server's SIZE: refused before MAIL, connection kept.
    let big = Message::raw(
        Envelope::new(None, vec![Address::new("rcpt@example.com").unwrap()]).unwrap(),
        vec![b'x'; 1024 * 1024 + 10],
    );
    assert!(matches!(
        client.send(&big),
        Err(Error::MessageTooLarge {
            limit: 1_048_576,
            ..
        })
    ));
    let next = unique("after-reset");
    client
        .send(&text_mail(&next, &["rcpt@example.com"]))
        .unwrap();
    let stats = client.stats();
    assert_eq!((stats.opened, stats.reused), (1, 2), "{stats:?}");
    assert_eq!(stats.discarded_total(), 0);
    assert_eq!(delivered(&refused).len(), 0);
    assert_eq!(delivered(&next).len(), 1);
}

#[test]
fn dot_stuffing_and_bare_line_ends_arrive_intact() {
    let client = real_client(&smtps_url());
    let marker = unique("dots");
    let content = format!(
        "Subject: {marker}\r\nFrom: a@example.com\r\n\r\n.leading dot\r\n.\r\n..two\r\n\
         bare LF\nbare CR\rmixed\r\n.\n. \r\nend without newline"
    );
    let msg = Message::raw(
        Envelope::new(
            Some(Address::new("a@example.com").unwrap()),
            vec![Address::new("rcpt@example.com").unwrap()],
        )
        .unwrap(),
        content.clone(),
    );
    client.send(&msg).unwrap();
    let stored = delivered(&marker);
    assert_eq!(stored.len(), 1);
    let expected = normalise(content.as_bytes());
    assert_eq!(
        String::from_utf8_lossy(&stored[0].eml),
        String::from_utf8_lossy(&expected)
    );
    assert!(expected.ends_with(b"end without newline\r\n"));
    assert!(String::from_utf8_lossy(&expected).contains("\r\n.\r\n..two\r\nbare LF\r\nbare CR\r\n"));
}

#[test]
fn utf8_address_uses_smtputf8() {
    let client = real_client(&smtp_url());
    let marker = unique("utf8");
    let msg = Message::builder()
        .from("jürgen@example.com")
        .to("rcpt@example.com")
        .subject(&format!("{marker} grüße"))
        .text_body("8-bit body: grüße\n")
        .build()
        .unwrap();
    client.send(&msg).unwrap();
    let stored = delivered(&marker);
    assert_eq!(stored.len(), 1);
    assert!(stored[0].meta.contains("SMTPUTF8"), "{}", stored[0].meta);
    assert!(
        stored[0].meta.contains("BODY=8BITMIME"),
        "{}",
        stored[0].meta
    );
}

#[test]
fn wrong_password_is_a_server_error() {
    let client = SmtpClient::from_url(&smtp_url())
        .unwrap()
        .tls_config(tls())
        .credentials(Credentials::password("pconn", "wrong"))
        .build()
        .unwrap();
    let err = client
        .send(&text_mail("x", &["rcpt@example.com"]))
        .unwrap_err();
    assert_eq!(err.code(), Some(535), "{err}");
}

#[test]
fn credentials_are_not_sent_in_the_clear() {
    let client = SmtpClient::from_url(&smtp_url())
        .unwrap()
        .starttls(StartTls::None)
        .credentials(Credentials::password("pconn", "pconn-secret"))
        .build()
        .unwrap();
    let err = client
        .send(&text_mail("x", &["rcpt@example.com"]))
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput(ref m) if m.contains("unencrypted")),
        "{err}"
    );
}

// ---- hostile and broken peers ----------------------------------------------

#[test]
fn multi_line_greeting_and_ehlo() {
    let (port, _l, handle) = serve(vec![Box::new(|p: &mut Peer| {
        p.send("220-peer ESMTP\r\n220-second line\r\n220 third line\r\n");
        p.expect("EHLO");
        p.send("250-peer hello\r\n250-SIZE 100000\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n");
        p.mail(1);
        p.expect("QUIT");
        p.send("221 bye\r\n");
    })]);
    let client = peer_client(port).build().unwrap();
    let sent = client.send(&simple("m")).unwrap();
    assert_eq!(sent.queue_id(), Some("PEER1"));
    drop(client);
    let logs = handle.join().unwrap();
    assert_eq!(logs[0].last().unwrap(), "QUIT", "pool drop says QUIT");
}

#[test]
fn helo_fallback_when_ehlo_is_unknown() {
    let (port, _l, handle) = serve(vec![Box::new(|p: &mut Peer| {
        p.send("220 old server\r\n");
        p.expect("EHLO");
        p.send("502 5.5.1 command not implemented\r\n");
        p.expect("HELO");
        p.send("250 hi\r\n");
        p.mail(1);
    })]);
    peer_client(port)
        .build()
        .unwrap()
        .send(&simple("m"))
        .unwrap();
    handle.join().unwrap();
}

#[test]
fn pipelining_sends_mail_and_every_rcpt_in_one_flight() {
    let (port, _l, handle) = serve(vec![Box::new(|p: &mut Peer| {
        p.hello(&["PIPELINING"]);
        // No reply before all three commands are read: a client that waits
        // for the MAIL reply would make this read time out.
        p.expect("MAIL FROM:");
        p.expect("RCPT TO:<a@example.com>");
        p.expect("RCPT TO:<b@example.com>");
        p.send("250 ok\r\n250 ok\r\n550 5.1.1 no such user\r\n");
        p.expect("DATA");
        p.send("354 go\r\n");
        p.data();
        p.send("250 ok\r\n");
    })]);
    let sent = peer_client(port)
        .build()
        .unwrap()
        .send(&text_mail("m", &["a@example.com", "b@example.com"]))
        .unwrap();
    assert_eq!(sent.accepted.len(), 1);
    assert_eq!(sent.refused[0].recipient.as_str(), "b@example.com");
    handle.join().unwrap();
}

#[test]
fn mails_per_connection_limit_closes_politely() {
    let (port, _l, handle) = serve(vec![
        Box::new(|p: &mut Peer| {
            p.hello(&[]);
            p.mail(1);
            p.mail(1);
            p.expect("QUIT");
            p.send("221 bye\r\n");
        }),
        Box::new(|p: &mut Peer| {
            p.hello(&[]);
            p.mail(1);
        }),
    ]);
    let client = peer_client(port)
        .max_mails_per_connection(2)
        .build()
        .unwrap();
    for i in 0..3 {
        client.send(&simple(&format!("m{i}"))).unwrap();
    }
    assert_eq!(client.stats().opened, 2);
    assert_eq!(client.stats().discarded(Discard::MaxUses), 1);
    drop(client);
    handle.join().unwrap();
}

#[test]
fn auth_login_and_xoauth2_against_scripted_servers() {
    let (port, _l, handle) = serve(vec![
        Box::new(|p: &mut Peer| {
            p.hello(&["AUTH LOGIN"]);
            p.expect("AUTH LOGIN");
            p.send("334 VXNlcm5hbWU6\r\n");
            assert_eq!(p.line().unwrap(), "dXNlcg=="); // "user"
            p.send("334 UGFzc3dvcmQ6\r\n");
            assert_eq!(p.line().unwrap(), "cHc="); // "pw"
            p.send("235 2.7.0 ok\r\n");
            p.mail(1);
        }),
        Box::new(|p: &mut Peer| {
            p.hello(&["AUTH XOAUTH2 PLAIN"]);
            let line = p.expect("AUTH XOAUTH2 ");
            // base64("user=user\x01auth=Bearer tok\x01\x01")
            assert_eq!(line, "AUTH XOAUTH2 dXNlcj11c2VyAWF1dGg9QmVhcmVyIHRvawEB");
            p.send("235 2.7.0 ok\r\n");
            p.mail(1);
        }),
    ]);
    for creds in [
        Credentials::password("user", "pw"),
        Credentials::oauth2("user", "tok"),
    ] {
        peer_client(port)
            .credentials(creds)
            .allow_plaintext_auth(true)
            .build()
            .unwrap()
            .send(&simple("m"))
            .unwrap();
    }
    handle.join().unwrap();
}

#[test]
fn rset_is_sent_before_reuse_after_an_aborted_transaction() {
    let (port, _l, handle) = serve(vec![Box::new(|p: &mut Peer| {
        p.hello(&[]);
        p.expect("MAIL FROM:");
        p.send("250 ok\r\n");
        p.expect("RCPT TO:");
        p.send("550 5.1.1 no\r\n");
        p.expect("RSET");
        p.send("250 flushed\r\n");
        p.mail(1);
    })]);
    let client = peer_client(port).build().unwrap();
    assert!(matches!(
        client.send(&simple("a")),
        Err(Error::RecipientsRefused(_))
    ));
    client.send(&simple("b")).unwrap();
    assert_eq!(client.stats().opened, 1);
    handle.join().unwrap();
}

#[test]
fn code_421_between_mails_closes_and_the_mail_goes_once_on_a_new_connection() {
    let (port, listener, handle) = serve(vec![
        Box::new(|p: &mut Peer| {
            p.hello(&[]);
            p.mail(1);
            p.expect("MAIL FROM:");
            p.send("421 4.3.2 shutting down\r\n");
        }),
        Box::new(|p: &mut Peer| {
            p.hello(&[]);
            p.mail(1);
        }),
    ]);
    let client = peer_client(port).build().unwrap();
    client.send(&simple("one")).unwrap();
    let sent = client.send(&simple("two")).unwrap();
    assert!(sent.retried);
    let logs = handle.join().unwrap();
    assert_eq!(logs[0].iter().filter(|l| *l == "<data>").count(), 1);
    assert_eq!(logs[1].iter().filter(|l| *l == "<data>").count(), 1);
    assert_eq!(client.stats().opened, 2);
    assert!(no_more_connections(&listener));
}

#[test]
fn queued_421_on_an_idle_connection_is_not_reused() {
    let (closed_tx, closed_rx) = mpsc::channel();
    let (port, _l, handle) = serve(vec![
        Box::new(move |p: &mut Peer| {
            p.hello(&[]);
            p.mail(1);
            // The server times the idle connection out.
            p.send("421 4.4.2 idle too long, closing\r\n");
            p.w.shutdown(std::net::Shutdown::Both).unwrap();
            closed_tx.send(()).unwrap();
        }),
        Box::new(|p: &mut Peer| {
            p.hello(&[]);
            p.mail(1);
        }),
    ]);
    let client = peer_client(port).build().unwrap();
    client.send(&simple("one")).unwrap();
    closed_rx.recv().unwrap();
    let sent = client.send(&simple("two")).unwrap();
    assert!(!sent.reused && !sent.retried);
    let logs = handle.join().unwrap();
    assert!(!logs[0]
        .iter()
        .any(|l| l.starts_with("NOOP") || l.starts_with("RSET")));
    assert_eq!(client.stats().opened, 2);
    assert_eq!(client.stats().discarded_total(), 1);
}

#[test]
fn noop_must_answer_exactly_250() {
    for answer in [
        "421 4.4.2 closing\r\n",
        "252 2.0.0 maybe\r\n",
        "220 ready\r\n",
    ] {
        let script_answer = answer.to_string();
        let (port, _l, handle) = serve(vec![
            Box::new(move |p: &mut Peer| {
                p.hello(&[]);
                p.mail(1);
                p.expect("NOOP");
                p.send(&script_answer);
                // Nothing of the next mail may come on this connection.
                let _ = p.line();
            }),
            Box::new(|p: &mut Peer| {
                p.hello(&[]);
                p.mail(1);
            }),
        ]);
        let client = peer_client(port)
            .noop_after(Some(Duration::ZERO))
            .build()
            .unwrap();
        client.send(&simple("one")).unwrap();
        client.send(&simple("two")).unwrap();
        let logs = handle.join().unwrap();
        let after_noop: Vec<_> = logs[0]
            .iter()
            .skip_while(|l| *l != "NOOP")
            .skip(1)
            .collect();
        assert!(after_noop.is_empty(), "{answer:?}: {after_noop:?}");
        assert_eq!(client.stats().opened, 2, "{answer:?}");
        assert_eq!(client.stats().discarded(Discard::VerifyFailed), 1);
    }
}

#[test]
fn reply_pipelined_after_starttls_220_is_refused() {
    let (port, _l, handle) = serve(vec![Box::new(|p: &mut Peer| {
        p.hello(&["STARTTLS"]);
        p.expect("STARTTLS");
        // An attacker's 250 rides in the same segment as the 220.
        p.send("220 2.0.0 go ahead\r\n250-injected\r\n250 AUTH PLAIN\r\n");
        let _ = p.line();
    })]);
    let client = SmtpClient::builder("localhost")
        .port(port)
        .tls_config(tls())
        .build()
        .unwrap();
    let err = client.send(&simple("m")).unwrap_err();
    assert!(
        matches!(err, Error::Protocol(ref m) if m.contains("STARTTLS")),
        "{err}"
    );
    let logs = handle.join().unwrap();
    assert!(!logs[0]
        .iter()
        .any(|l| l.starts_with("MAIL") || l.starts_with("AUTH")));
}

#[test]
fn no_starttls_under_required_sends_nothing() {
    let (port, _l, handle) = serve(vec![Box::new(|p: &mut Peer| {
        p.hello(&["AUTH PLAIN LOGIN"]);
        let _ = p.line();
    })]);
    let client = SmtpClient::builder("localhost")
        .port(port)
        .tls_config(tls())
        .credentials(Credentials::password("u", "secret"))
        .build()
        .unwrap();
    let err = client.send(&simple("m")).unwrap_err();
    assert!(
        matches!(err, Error::Unsupported(ref m) if m.contains("STARTTLS")),
        "{err}"
    );
    let logs = handle.join().unwrap();
    assert_eq!(logs[0].len(), 1, "only EHLO may be sent: {:?}", logs[0]);
}

#[test]
fn dropped_after_final_dot_is_unknown_and_never_resent() {
    let (port, listener, handle) = serve(vec![Box::new(|p: &mut Peer| {
        p.hello(&[]);
        p.mail(1);
        p.expect("MAIL FROM:");
        p.send("250 ok\r\n");
        p.expect("RCPT TO:");
        p.send("250 ok\r\n");
        p.expect("DATA");
        p.send("354 go\r\n");
        p.data();
        // Gone without a word after the final '.'.
    })]);
    let client = peer_client(port).build().unwrap();
    client.send(&simple("one")).unwrap();
    let err = client.send(&simple("two")).unwrap_err();
    assert!(matches!(err, Error::DeliveryUnknown(_)), "{err}");
    assert!(err.to_string().contains("delivery state unknown"));
    assert!(!err.is_retryable());
    let logs = handle.join().unwrap();
    assert_eq!(logs[0].iter().filter(|l| *l == "<data>").count(), 2);
    assert!(no_more_connections(&listener), "the mail was re-sent");
    assert_eq!(client.stats().opened, 1);
}

/// A peer whose greeting is `bytes`; the client must fail to open.
fn bad_greeting(bytes: &'static [u8]) -> Error {
    let (port, _l, handle) = serve(vec![Box::new(move |p: &mut Peer| {
        let _ = p.w.write_all(bytes);
        // Half-close: a reply cut off here is "closed mid-reply".
        let _ = p.w.shutdown(std::net::Shutdown::Write);
        let _ = p.line();
    })]);
    let client = peer_client(port).build().unwrap();
    let err = client.send(&simple("m")).unwrap_err();
    let logs = handle.join().unwrap();
    assert!(
        logs[0].is_empty(),
        "client spoke after a bad greeting: {:?}",
        logs[0]
    );
    assert_eq!(client.stats().open_now, 0);
    err
}

#[test]
fn malformed_greeting_is_a_protocol_error() {
    let err = bad_greeting(b"hello there\r\n");
    assert!(matches!(err, Error::Protocol(_)), "{err}");
    let err = bad_greeting(b"220 ok\n");
    assert!(matches!(err, Error::Protocol(_)), "{err}");
}

#[test]
fn overlong_reply_line_is_refused() {
    static LONG: [u8; 2000] = [b'2'; 2000];
    let err = bad_greeting(&LONG);
    assert!(
        matches!(err, Error::Protocol(ref m) if m.contains("longer")),
        "{err}"
    );
}

#[test]
fn closed_mid_reply_is_an_error() {
    let err = bad_greeting(b"220-first line\r\n220-second");
    assert!(
        matches!(
            err,
            Error::Transport(transport::Error::Closed { mid_frame: true })
        ),
        "{err:?}"
    );
}

#[test]
fn error_greeting_is_a_server_error() {
    let err = bad_greeting(b"554 5.7.1 go away\r\n");
    assert_eq!(err.code(), Some(554));
}

#[test]
fn endless_continuation_lines_are_cut_off() {
    let (port, _l, handle) = serve(vec![Box::new(|p: &mut Peer| {
        p.send("220 peer\r\n");
        p.expect("EHLO");
        // Stream continuation lines until the client hangs up; the write
        // failing proves it closed the connection instead of buffering.
        let chunk = "250-more and more\r\n".repeat(1000);
        let mut sent = 0usize;
        while p.w.write_all(chunk.as_bytes()).is_ok() {
            sent += chunk.len();
            assert!(sent < 512 << 20, "client kept reading an endless reply");
        }
    })]);
    let client = peer_client(port).build().unwrap();
    let err = client.send(&simple("m")).unwrap_err();
    assert!(
        matches!(err, Error::Protocol(ref m) if m.contains("lines")),
        "{err}"
    );
    drop(client);
    handle.join().unwrap();
}

#[test]
fn malformed_reply_mid_session_closes_the_connection() {
    let (port, _l, handle) = serve(vec![
        Box::new(|p: &mut Peer| {
            p.hello(&[]);
            p.expect("MAIL FROM:");
            p.send("2500 ok\r\n");
            let _ = p.line();
        }),
        Box::new(|p: &mut Peer| {
            p.hello(&[]);
            p.mail(1);
        }),
    ]);
    let client = peer_client(port).build().unwrap();
    assert!(matches!(client.send(&simple("a")), Err(Error::Protocol(_))));
    client.send(&simple("b")).unwrap();
    assert_eq!(client.stats().opened, 2);
    let logs = handle.join().unwrap();
    assert_eq!(logs[0].len(), 2, "{:?}", logs[0]);
}

#[test]
fn missing_smtputf8_is_refused_before_mail() {
    let (port, _l, handle) = serve(vec![Box::new(|p: &mut Peer| {
        p.hello(&["8BITMIME"]);
        p.mail(1);
    })]);
    let client = peer_client(port).build().unwrap();
    let utf8 = Message::builder()
        .from("jürgen@example.com")
        .to("r@example.com")
        .build()
        .unwrap();
    let err = client.send(&utf8).unwrap_err();
    assert!(
        matches!(err, Error::Unsupported(ref m) if m.contains("SMTPUTF8")),
        "{err}"
    );
    // The connection is still clean and serves the next mail.
    client.send(&simple("ok")).unwrap();
    assert_eq!(client.stats().opened, 1);
    handle.join().unwrap();
}

// ---- caller-side injection: refused before anything is sent -----------------

/// A listener no client should ever reach.
fn untouched() -> (u16, TcpListener) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    (l.local_addr().unwrap().port(), l)
}

fn assert_invalid<T: std::fmt::Debug>(r: Result<T, Error>) {
    assert!(matches!(r, Err(Error::InvalidInput(_))), "{r:?}");
}

#[test]
fn crlf_in_recipient_is_refused() {
    let (port, l) = untouched();
    let client = peer_client(port).build().unwrap();
    let msg = Message::builder()
        .from("a@example.com")
        .to("b@example.com>\r\nRCPT TO:<victim@example.com")
        .build();
    assert_invalid(msg.and_then(|m| client.send(&m)));
    assert!(no_more_connections(&l));
}

#[test]
fn lf_and_nul_in_sender_are_refused() {
    for bad in ["a@example.com\nRSET", "a\0@example.com", "a@example.com\r"] {
        assert!(Address::new(bad).is_err(), "{bad:?}");
        assert_invalid(Message::builder().from(bad).to("b@example.com").build());
    }
}

#[test]
fn angle_brackets_in_address_are_refused() {
    for bad in [
        "<a@example.com>",
        "a@example.com> SIZE=1",
        "a<b@example.com",
    ] {
        assert_invalid(Message::builder().from("x@example.com").to(bad).build());
    }
}

#[test]
fn address_without_valid_form_is_refused() {
    for bad in [
        "no-at-sign",
        "@example.com",
        "a@",
        "a@@example.com",
        "a b@example.com",
        "",
    ] {
        assert_invalid(Message::builder().from("x@example.com").to(bad).build());
    }
}

#[test]
fn crlf_in_ehlo_name_is_refused() {
    let (port, l) = untouched();
    let built = peer_client(port)
        .ehlo_name("client\r\nMAIL FROM:<evil@example.com>")
        .build();
    assert!(matches!(built, Err(Error::InvalidInput(_))), "{built:?}");
    assert!(EhloName::new("a<b>").is_err());
    assert!(no_more_connections(&l));
}

#[test]
fn header_injection_through_subject_is_refused() {
    assert_invalid(
        Message::builder()
            .from("a@example.com")
            .to("b@example.com")
            .subject("hello\r\nBcc: victim@example.com")
            .build(),
    );
}

#[test]
fn header_injection_through_display_name_is_refused() {
    assert_invalid(
        Message::builder()
            .from_named(Some("Eve\r\nBcc: victim@example.com"), "a@example.com")
            .to("b@example.com")
            .build(),
    );
    assert_invalid(
        Message::builder()
            .from("a@example.com")
            .to_named(Some("x\ny"), "b@example.com")
            .build(),
    );
}

#[test]
fn nul_in_credentials_is_refused() {
    let (port, l) = untouched();
    let built = peer_client(port)
        .credentials(Credentials::password("user\0admin", "pw"))
        .build();
    assert!(matches!(built, Err(Error::InvalidInput(_))), "{built:?}");
    assert!(no_more_connections(&l));
}

#[test]
fn empty_envelope_is_refused() {
    assert_invalid(Envelope::new(None, vec![]));
}

// ---- through a proxy -----------------------------------------------------------

#[test]
fn mails_through_the_connect_proxy_share_one_tunnel() {
    let proxy = env_or("PCONN_PROXY_URL", "http://127.0.0.1:3128");
    let client = SmtpClient::from_url(&smtp_url())
        .unwrap()
        .tls_config(tls())
        .credentials(Credentials::password("pconn", "pconn-secret"))
        .proxy(&proxy)
        .unwrap()
        .build()
        .unwrap();
    assert!(
        format!("{client:?}").contains(" via "),
        "pool key names the proxy: {client:?}"
    );
    let marker = unique("proxied");
    for i in 0..3 {
        client
            .send(&text_mail(
                &format!("{marker}-{i}-end"),
                &["rcpt@example.com"],
            ))
            .unwrap();
    }
    let stats = client.stats();
    assert_eq!((stats.opened, stats.reused), (1, 2), "{stats:?}");
    let stored = delivered(&marker);
    assert_eq!(stored.len(), 3);
    assert!(stored.iter().all(|s| s.meta.contains("\"tls\": true")));
    assert!(SmtpClient::from_url(&smtp_url())
        .unwrap()
        .proxy("ftp://x")
        .is_err());
}
