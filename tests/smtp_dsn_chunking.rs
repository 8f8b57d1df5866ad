//! Issue 17, DSN (RFC 3461) and CHUNKING (RFC 3030): against the private
//! Postfix (which advertises both, delivers for real and sends real
//! delivery reports) and scripted peers for the hostile cases.

#[path = "smtp_support.rs"]
mod smtp_support;

use integration_tests::unique;
use smtp_client::proto::data::normalise;
use smtp_client::{Address, Dsn, Envelope, Error, Message, Notify, Ret, SmtpClient};
use smtp_support::*;

fn postfix() -> smtp_client::Builder {
    SmtpClient::from_url(&postfix_url()).unwrap()
}

fn mail(marker: &str, body: &str) -> Message {
    Message::builder()
        .from(&format!("{marker}-sender@example.com"))
        .to("rcpt@example.net")
        .subject(marker)
        .text_body(body)
        .build()
        .unwrap()
}

// ---- DSN ----------------------------------------------------------------------

#[test]
fn dsn_success_report_carries_envid_and_orcpt() {
    let run = unique("dsn");
    let envid = format!("{run}+env=id");
    let rcpt = Address::new("dsn-rcpt@example.net").unwrap();
    let dsn = Dsn::new()
        .ret(Ret::Headers)
        .envid(&envid)
        .unwrap()
        .notify(Notify {
            success: true,
            failure: true,
            delay: false,
        })
        .orcpt(true);
    let msg = Message::builder()
        .from(&format!("{run}-sender@example.com"))
        .to(rcpt.as_str())
        .subject(&run)
        .text_body("asks for a success report\n")
        .dsn(dsn)
        .build()
        .unwrap();
    postfix().build().unwrap().send(&msg).unwrap();
    // The mail itself, and Postfix's delivery report back to the sender.
    let found = wait_stored(&postfix_maildir(), &run, 2);
    let report = found
        .iter()
        .find(|s| s.meta.starts_with("MAILER-DAEMON") || s.meta.starts_with('\n'))
        .map(|s| String::from_utf8_lossy(&s.eml).into_owned())
        .unwrap_or_else(|| panic!("no delivery report among {} stored", found.len()));
    assert!(
        report.contains(&format!("Original-Envelope-Id: {envid}")),
        "{report}"
    );
    assert!(
        report.contains("Original-Recipient: rfc822;dsn-rcpt@example.net"),
        "{report}"
    );
    // Delivery through pipe(8) is reported as "relayed", with a 2.0.0 status.
    assert!(report.contains("Status: 2.0.0"), "{report}");
    assert!(
        report.contains("Content-Type: message/delivery-status"),
        "{report}"
    );
    // RET=HDRS: the report returns the headers, not the body.
    assert!(report.contains(&format!("Subject: {run}")), "{report}");
    assert!(!report.contains("asks for a success report"), "{report}");
}

#[test]
fn dsn_never_sends_no_report() {
    let run = unique("dsn-never");
    let msg = mail(&run, "no report please\n").with_dsn(Dsn::new().notify(Notify::NEVER));
    postfix().build().unwrap().send(&msg).unwrap();
    assert_eq!(wait_stored(&postfix_maildir(), &run, 1).len(), 1);
    // A report would name the run in its returned headers; give it the same
    // time the first delivery took, twice over, and expect none.
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(stored_in(&postfix_maildir(), &run).len(), 1);
}

#[test]
fn dsn_asked_of_a_server_without_it_is_refused_before_mail() {
    // The base aiosmtpd server does not advertise DSN.
    let run = unique("dsn-unsupported");
    let msg = text_mail(&run, &["rcpt@example.com"]).with_dsn(Dsn::new().ret(Ret::Full));
    let err = real_client(&smtp_url()).send(&msg).unwrap_err();
    assert!(
        matches!(err, Error::Unsupported(ref m) if m.contains("DSN")),
        "{err}"
    );
    assert!(delivered(&run).is_empty());
    // And from a scripted server: only EHLO was ever sent.
    let (port, _l, handle) = serve(vec![Box::new(|p: &mut Peer| {
        p.hello(&["PIPELINING"]);
        let _ = p.line();
    })]);
    let err = peer_client(port).build().unwrap().send(&msg).unwrap_err();
    assert!(matches!(err, Error::Unsupported(_)), "{err}");
    let log = handle.join().unwrap().remove(0);
    assert!(log.iter().all(|l| !l.starts_with("MAIL")), "{log:?}");
}

// ---- CHUNKING --------------------------------------------------------------------

#[test]
fn bdat_in_many_pipelined_chunks_arrives_intact() {
    let run = unique("bdat");
    // Bare LF, bare CR and dot lines: BDAT sends no dot-stuffing, but the
    // line ends are normalised as for DATA.
    let body = format!(
        "{}\n.dot line\r\n..two\rend {run}\n",
        "0123456789".repeat(100)
    );
    let msg = mail(&run, &body);
    let client = postfix().chunk_size(100).build().unwrap();
    client.send(&msg).unwrap();
    client.send(&msg).unwrap();
    let stored = wait_stored(&postfix_maildir(), &run, 2);
    assert_eq!(stored.len(), 2);
    for s in &stored {
        assert_eq!(s.eml, lf(&normalise(msg.content())), "not byte for byte");
        assert!(s.meta.contains("rcpt@example.net"), "{}", s.meta);
    }
    assert_eq!(client.stats().opened, 1);
}

#[test]
fn bdat_on_the_wire_pipelined_and_one_by_one() {
    for pipelining in [true, false] {
        let (port, _l, handle) = serve(vec![Box::new(move |p: &mut Peer| {
            let ext: &[&str] = if pipelining {
                &["PIPELINING", "CHUNKING"]
            } else {
                &["CHUNKING"]
            };
            p.hello(ext);
            p.expect("MAIL FROM:");
            if !pipelining {
                p.send("250 ok\r\n");
            }
            p.expect("RCPT TO:");
            if pipelining {
                p.send("250 ok\r\n250 ok\r\n");
            } else {
                p.send("250 ok\r\n");
            }
            let mut chunks = Vec::new();
            loop {
                let line = p.expect("BDAT ");
                let mut words = line.split(' ').skip(1);
                let size: usize = words.next().unwrap().parse().unwrap();
                let last = words.next() == Some("LAST");
                let mut chunk = vec![0u8; size];
                std::io::Read::read_exact(&mut p.r, &mut chunk).unwrap();
                chunks.push(chunk);
                if last {
                    if pipelining {
                        p.send(&"250 chunk ok\r\n".repeat(chunks.len() - 1));
                    }
                    p.send("250 2.0.0 queued as B1\r\n");
                    break;
                }
                if !pipelining {
                    p.send("250 2.0.0 chunk ok\r\n");
                }
            }
            assert_eq!(chunks.iter().map(Vec::len).max(), Some(16));
            p.log.push(String::from_utf8(chunks.concat()).unwrap());
        })]);
        let client = peer_client(port).chunk_size(16).build().unwrap();
        let msg = Message::raw(
            Envelope::new(
                Some(Address::new("a@example.com").unwrap()),
                vec![Address::new("b@example.com").unwrap()],
            )
            .unwrap(),
            "Subject: bdat\n\n.line one\nline two is longer than a chunk\n",
        );
        let sent = client.send(&msg).unwrap();
        assert_eq!(sent.queue_id(), Some("B1"));
        drop(client);
        let log = handle.join().unwrap().remove(0);
        assert_eq!(
            log.last().unwrap().as_bytes(),
            normalise(msg.content()),
            "pipelining {pipelining}"
        );
        assert!(!log.iter().any(|l| l == "DATA"), "{log:?}");
    }
}

/// A server that offers CHUNKING and refuses the second chunk.
fn second_chunk_refused(pipelining: bool) -> (Error, Vec<String>) {
    let (port, _l, handle) = serve(vec![Box::new(move |p: &mut Peer| {
        let ext: &[&str] = if pipelining {
            &["PIPELINING", "CHUNKING"]
        } else {
            &["CHUNKING"]
        };
        p.hello(ext);
        p.expect("MAIL FROM:");
        if !pipelining {
            p.send("250 ok\r\n");
        }
        p.expect("RCPT TO:");
        p.send(if pipelining {
            "250 ok\r\n250 ok\r\n"
        } else {
            "250 ok\r\n"
        });
        let mut n = 0;
        while let Some(line) = p.line() {
            if line == "RSET" {
                p.send("250 reset\r\n");
                continue;
            }
            if line == "QUIT" {
                p.send("221 bye\r\n");
                break;
            }
            let size: usize = line.split(' ').nth(1).unwrap().parse().unwrap();
            let mut chunk = vec![0u8; size];
            std::io::Read::read_exact(&mut p.r, &mut chunk).unwrap();
            n += 1;
            let reply = match n {
                1 => "250 2.0.0 chunk ok\r\n",
                2 => "554 5.6.0 second chunk refused\r\n",
                _ => "503 5.5.1 discarded after earlier error\r\n",
            };
            p.send(reply);
        }
    })]);
    let client = peer_client(port).chunk_size(8).build().unwrap();
    let msg = text_mail("refused-chunk", &["rcpt@example.com"]);
    let err = client.send(&msg).unwrap_err();
    // The session is not broken: it was reset and went back to the pool.
    assert_eq!(client.stats().open_now, 1);
    drop(client);
    (err, handle.join().unwrap().remove(0))
}

#[test]
fn refused_second_chunk_fails_the_mail_and_the_session_is_reset() {
    for pipelining in [true, false] {
        let (err, log) = second_chunk_refused(pipelining);
        assert!(
            matches!(
                err,
                Error::Server {
                    command: "BDAT",
                    code: 554,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(!matches!(err, Error::DeliveryUnknown(_)));
        let bdats = log.iter().filter(|l| l.starts_with("BDAT")).count();
        if !pipelining {
            // One by one: nothing after the refused chunk, LAST never sent.
            assert_eq!(bdats, 2, "{log:?}");
            assert!(!log.iter().any(|l| l.ends_with("LAST")), "{log:?}");
        }
        assert!(log.iter().any(|l| l == "RSET"), "{log:?}");
    }
}

#[test]
fn last_chunk_unanswered_is_delivery_unknown_and_never_resent() {
    let (port, listener, handle) = serve(vec![Box::new(|p: &mut Peer| {
        p.hello(&["PIPELINING", "CHUNKING"]);
        p.expect("MAIL FROM:");
        p.expect("RCPT TO:");
        p.send("250 ok\r\n250 ok\r\n");
        let line = p.expect("BDAT");
        assert!(line.ends_with("LAST"), "{line}");
        // Gone without a word after the LAST chunk.
    })]);
    let client = peer_client(port).build().unwrap();
    let err = client.send(&simple("unknown")).unwrap_err();
    assert!(matches!(err, Error::DeliveryUnknown(_)), "{err:?}");
    assert!(!err.is_retryable());
    handle.join().unwrap();
    assert!(no_more_connections(&listener), "the mail was sent again");
}

#[test]
fn binary_content_goes_as_binarymime_only_when_offered() {
    let content = b"Subject: bin\r\n\r\nnul \x00 byte, bare\nLF kept\r\n".to_vec();
    let msg = Message::raw(
        Envelope::new(
            Some(Address::new("a@example.com").unwrap()),
            vec![Address::new("b@example.com").unwrap()],
        )
        .unwrap(),
        content.clone(),
    );
    assert!(msg.needs_binary());
    let expected = content.clone();
    let (port, _l, handle) = serve(vec![Box::new(move |p: &mut Peer| {
        p.hello(&["PIPELINING", "CHUNKING", "BINARYMIME"]);
        let mail = p.expect("MAIL FROM:");
        assert!(mail.ends_with(" BODY=BINARYMIME"), "{mail}");
        p.expect("RCPT TO:");
        p.send("250 ok\r\n250 ok\r\n");
        let line = p.expect("BDAT");
        assert_eq!(line, format!("BDAT {} LAST", expected.len()));
        let mut chunk = vec![0u8; expected.len()];
        std::io::Read::read_exact(&mut p.r, &mut chunk).unwrap();
        assert_eq!(chunk, expected, "binary content altered");
        p.send("250 ok\r\n");
    })]);
    peer_client(port).build().unwrap().send(&msg).unwrap();
    handle.join().unwrap();
    // CHUNKING without BINARYMIME, and the real server without either.
    let (port, _l, handle) = serve(vec![Box::new(|p: &mut Peer| {
        p.hello(&["CHUNKING"]);
        let _ = p.line();
    })]);
    let err = peer_client(port).build().unwrap().send(&msg).unwrap_err();
    assert!(
        matches!(err, Error::Unsupported(ref m) if m.contains("BINARYMIME")),
        "{err}"
    );
    assert!(handle.join().unwrap()[0]
        .iter()
        .all(|l| !l.starts_with("MAIL")));
    let err = postfix().build().unwrap().send(&msg).unwrap_err();
    assert!(matches!(err, Error::Unsupported(_)), "{err}");
}

#[test]
fn chunking_off_uses_data_with_postfix() {
    let run = unique("nochunk");
    let msg = mail(&run, ".leading dot\n");
    postfix()
        .chunking(false)
        .build()
        .unwrap()
        .send(&msg)
        .unwrap();
    let stored = wait_stored(&postfix_maildir(), &run, 1);
    assert_eq!(stored[0].eml, lf(&normalise(msg.content())));
}
