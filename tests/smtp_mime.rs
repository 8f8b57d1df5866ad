//! Issue 17, messages: attachments (bytes, file, reader), inline images by
//! `cid:`, text+HTML alternatives, Reply-To/Cc/Bcc, custom headers, all
//! through mail-builder; sent to the real server and checked byte for byte
//! where it stores them.

#[path = "smtp_support.rs"]
mod smtp_support;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use integration_tests::unique;
use smtp_client::proto::data::normalise;
use smtp_client::{Attachment, Error, Message};
use smtp_support::*;

/// The base64 body of the MIME part whose headers contain `header_needle`.
fn part_body(eml: &str, header_needle: &str) -> Vec<u8> {
    let at = eml.find(header_needle).expect(header_needle);
    let rest = &eml[at..];
    let body_start = rest.find("\r\n\r\n").unwrap() + 4;
    let body = &rest[body_start..];
    let end = body.find("\r\n--").unwrap();
    B64.decode(body[..end].replace("\r\n", "")).unwrap()
}

#[test]
fn attachments_inline_image_alternative_and_recipients() {
    let run = unique("mime");
    let binary: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let file = std::env::temp_dir().join(format!("{run}-notes.txt"));
    std::fs::write(&file, "file contents\n").unwrap();
    let png = b"\x89PNG\r\n\x1a\n fake image bytes";
    let msg = Message::builder()
        .from_named(Some("Ann Sender"), "ann@example.com")
        .to("bob@example.com")
        .cc_named(Some("Cy"), "cy@example.com")
        .bcc("hidden@example.com")
        .reply_to("replies@example.com")
        .subject(&run)
        .header("X-Run", &run)
        .text_body("plain text part\n")
        .html_body("<p>html part <img src=\"cid:logo@pconn\"></p>")
        .inline("logo@pconn", "image/png", &png[..])
        .attach(Attachment::from_bytes(
            "data.bin",
            "application/octet-stream",
            binary.clone(),
        ))
        .attach(Attachment::from_file(&file, "text/plain").unwrap())
        .attach(Attachment::from_reader("read.csv", "text/csv", &b"a,b\n1,2\n"[..]).unwrap())
        .build()
        .unwrap();
    std::fs::remove_file(&file).unwrap();
    let sent = real_client(&smtp_url()).send(&msg).unwrap();
    assert_eq!(sent.accepted.len(), 3, "to, cc and bcc in the envelope");

    let stored = delivered(&run);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].eml, normalise(msg.content()), "not byte for byte");
    let meta = &stored[0].meta;
    for rcpt in ["bob@example.com", "cy@example.com", "hidden@example.com"] {
        assert!(meta.contains(rcpt), "{rcpt} not in envelope: {meta}");
    }
    let eml = String::from_utf8_lossy(&stored[0].eml).into_owned();
    let head = &eml[..eml.find("\r\n\r\n").unwrap()];
    assert!(
        !eml.contains("hidden@example.com"),
        "Bcc leaked into the message"
    );
    assert!(head.contains("Reply-To: <replies@example.com>"), "{head}");
    assert!(head.contains("Cc: \"Cy\" <cy@example.com>"), "{head}");
    assert!(head.contains(&format!("X-Run: {run}")), "{head}");
    // Structure: mixed[ alternative[ text, related[ html, image ] ], attachments ].
    let order = [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "multipart/related",
        "text/html",
        "image/png",
        "application/octet-stream",
        "text/plain",
        "text/csv",
    ];
    let mut from = 0;
    for ct in order {
        let at = eml[from..]
            .find(&format!("Content-Type: {ct}"))
            .unwrap_or_else(|| panic!("{ct} missing or out of order in\n{eml}"));
        from += at + 1;
    }
    assert!(eml.contains("Content-ID: <logo@pconn>"), "{eml}");
    assert!(eml.contains("filename=\"data.bin\""), "{eml}");
    assert!(eml.contains("filename=\"read.csv\""), "{eml}");
    assert_eq!(part_body(&eml, "filename=\"data.bin\""), binary);
    assert_eq!(part_body(&eml, "Content-ID: <logo@pconn>"), png);
}

#[test]
fn html_only_with_inline_image_is_related() {
    let run = unique("mime-related");
    let msg = Message::builder()
        .from("ann@example.com")
        .to("bob@example.com")
        .subject(&run)
        .html_body("<img src=\"cid:pic1\">")
        .inline("pic1", "image/gif", &b"GIF89a"[..])
        .build()
        .unwrap();
    let text = String::from_utf8_lossy(msg.content()).into_owned();
    assert!(text.contains("Content-Type: multipart/related"), "{text}");
    assert!(!text.contains("multipart/mixed"), "{text}");
    real_client(&smtp_url()).send(&msg).unwrap();
    assert_eq!(delivered(&run)[0].eml, normalise(msg.content()));
}

#[test]
fn injection_through_attachments_and_headers_is_refused_before_sending() {
    let base = || Message::builder().from("a@example.com").to("b@example.com");
    for built in [
        base()
            .attach(Attachment::from_bytes(
                "x.txt\r\nBcc: victim@x.y",
                "text/plain",
                "x",
            ))
            .build(),
        base()
            .attach(Attachment::from_bytes("x.txt\n", "text/plain", "x"))
            .build(),
        base()
            .attach(Attachment::from_bytes(
                "x.txt",
                "text/plain\r\nX-Evil: 1",
                "x",
            ))
            .build(),
        base().inline("a\r\nb", "image/png", "x").build(),
        base().inline("ok", "image/png\r\n", "x").build(),
        base().header("X-Custom", "v\r\nBcc: victim@x.y").build(),
        base().header("X-Custom\r\nBcc", "v").build(),
        base().reply_to("r@x.y>\r\nBcc: v@x.y").build(),
    ] {
        assert!(matches!(built, Err(Error::InvalidInput(_))), "{built:?}");
    }
}
