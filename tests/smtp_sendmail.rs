//! Issue 17, local submission: the sendmail transport pipes the message to
//! the system's sendmail binary (Postfix's, submitting to the private
//! instance of scripts/servers.d/smtp-extra.sh through MAIL_CONFIG), with
//! the envelope on the command line, checked.

#[path = "smtp_support.rs"]
mod smtp_support;

use integration_tests::{env_or, unique};
use smtp_client::proto::data::normalise;
use smtp_client::{Address, Envelope, Error, Message, Sendmail};
use smtp_support::*;

fn sendmail() -> Sendmail {
    Sendmail::new().env(
        "MAIL_CONFIG",
        env_or(
            "PCONN_POSTFIX_CONFIG",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../.servers/postfix"),
        ),
    )
}

#[test]
fn sendmail_delivers_with_the_envelope_from_the_command_line() {
    let run = unique("sendmail");
    let msg = Message::builder()
        .from(&format!("{run}@example.com"))
        .to("header-to@example.net")
        .subject(&run)
        .text_body(".\na lone dot above must not end the message\n..two\n")
        .build()
        .unwrap()
        // The envelope, not the headers, decides who gets it.
        .with_envelope(
            Envelope::new(
                Some(Address::new("envelope-from@example.com").unwrap()),
                vec![
                    Address::new("env-one@example.net").unwrap(),
                    Address::new("env-two@example.org").unwrap(),
                ],
            )
            .unwrap(),
        );
    sendmail().send(&msg).unwrap();
    let stored = wait_stored(&postfix_maildir(), &run, 2);
    assert_eq!(stored.len(), 2, "one delivery per recipient");
    let mut rcpts = Vec::new();
    for s in &stored {
        let mut lines = s.meta.lines();
        assert_eq!(
            lines.next(),
            Some("envelope-from@example.com"),
            "{}",
            s.meta
        );
        rcpts.push(lines.next().unwrap().to_string());
        assert_eq!(s.eml, lf(&normalise(msg.content())), "not byte for byte");
    }
    rcpts.sort();
    assert_eq!(rcpts, ["env-one@example.net", "env-two@example.org"]);
}

#[test]
fn option_like_addresses_are_refused_before_running_anything() {
    let msg = Message::raw(
        Envelope::new(
            Some(Address::new("-oQ/tmp/x@example.com").unwrap()),
            vec![Address::new("b@example.com").unwrap()],
        )
        .unwrap(),
        "Subject: x\n\nx\n",
    );
    // A program that does not exist: the check must come first.
    let err = Sendmail::new()
        .program("/nonexistent/sendmail")
        .send(&msg)
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput(ref m) if m.contains("option")),
        "{err}"
    );
    let msg = Message::raw(
        Envelope::new(None, vec![Address::new("-bs@example.com").unwrap()]).unwrap(),
        "x",
    );
    assert!(matches!(Sendmail::args(&msg), Err(Error::InvalidInput(_))));
    let ok = Message::raw(
        Envelope::new(None, vec![Address::new("b@example.com").unwrap()]).unwrap(),
        "x",
    );
    assert_eq!(
        Sendmail::args(&ok).unwrap(),
        ["-i", "-f", "<>", "--", "b@example.com"]
    );
}

#[test]
fn a_failing_sendmail_is_an_error_with_its_message() {
    let msg = text_mail("fails", &["rcpt@example.com"]);
    let err = Sendmail::new()
        .program("/bin/false")
        .send(&msg)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Sendmail {
                status: Some(1),
                ..
            }
        ),
        "{err:?}"
    );
    let err = Sendmail::new()
        .program("/nonexistent/sendmail")
        .send(&msg)
        .unwrap_err();
    assert!(
        matches!(err, Error::Sendmail { status: None, ref stderr } if stderr.contains("cannot run")),
        "{err:?}"
    );
}
