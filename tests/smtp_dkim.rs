//! Issue 17, DKIM: mail signed by smtp-client (mail-auth; RSA-SHA256 and
//! Ed25519-SHA256, relaxed/relaxed) is stored by the real server and then
//! verified by an independent verifier (dkimpy, tests/dkim_verify.py)
//! against a key published in a test DNS stand-in.

#[path = "smtp_support.rs"]
mod smtp_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use integration_tests::unique;
use smtp_client::{DkimSigner, Error, Message, SmtpClient};
use smtp_support::*;

/// A private key made by openssl (`args` after `genpkey`/`genrsa`) and its
/// public key, in a fresh temp dir.
fn keypair(name: &str, args: &[&str]) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(unique("dkim-keys"));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join(format!("{name}.key"));
    let public = dir.join(format!("{name}.pub"));
    let out = Command::new("openssl")
        .arg(args[0])
        .arg("-out")
        .arg(&key)
        .args(&args[1..])
        .output()
        .expect("openssl");
    assert!(out.status.success(), "{out:?}");
    let out = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&key)
        .arg("-out")
        .arg(&public)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    (key, public)
}

/// dkimpy's verdicts, in order, on each message for
/// `selector._domainkey.domain` published as the given public key.
fn verdicts(cases: &[(&[u8], &str, &Path)], domain: &str) -> Vec<bool> {
    let mut args = Vec::new();
    for (eml, selector, public) in cases {
        let file = public.with_extension(format!("{}.eml", unique("m")));
        std::fs::write(&file, eml).unwrap();
        args.push(format!(
            "{}:{selector}:{domain}:{}",
            file.display(),
            public.display()
        ));
    }
    let out = Command::new("/usr/bin/python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/dkim_verify.py"))
        .args(&args)
        .output()
        .expect("python3");
    assert!(out.status.success(), "verifier crashed: {out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), cases.len(), "{stdout}");
    lines
        .iter()
        .zip(cases)
        .map(|(line, (_, selector, _))| {
            assert!(
                line.contains(&format!("{selector}._domainkey.{domain}")),
                "{line}"
            );
            line.starts_with("pass")
        })
        .collect()
}

fn tricky_mail(run: &str) -> Message {
    Message::builder()
        .from("signer@pconn.example")
        .to("rcpt@example.com")
        .cc("cc@example.com")
        .subject(&format!("{run} signed"))
        .header("X-Run", run)
        // Dot lines and bare line ends: the signature must cover what the
        // server stores after dot-stuffing is undone and line ends fixed.
        .text_body(".leading dot\n..two dots\r.\nbare CR\rand  trailing   spaces  \n\n\n")
        .build()
        .unwrap()
}

fn sign_send_verify(name: &str, args: &[&str], algorithm: &str) {
    let run = unique(name);
    let (key, public) = keypair(name, args);
    let signer = DkimSigner::from_pem_file(&key, "pconn.example", "sel1").unwrap();
    assert_eq!(signer.algorithm(), algorithm);
    let client = SmtpClient::from_url(&smtp_url())
        .unwrap()
        .tls_config(tls())
        .credentials(smtp_client::Credentials::password("pconn", "pconn-secret"))
        .dkim(signer)
        .build()
        .unwrap();
    client.send(&tricky_mail(&run)).unwrap();
    let stored = delivered(&run);
    assert_eq!(stored.len(), 1);
    let eml = &stored[0].eml;
    let text = String::from_utf8_lossy(eml);
    assert!(text.starts_with("DKIM-Signature: v=1; a="), "{text}");
    assert!(text.contains(&format!("a={algorithm}")), "{text}");
    assert!(text.contains("c=relaxed/relaxed"), "{text}");
    // The verifier is not vacuous: a changed body or header fails, and so
    // does another key published under the selector.
    let body_changed = text.replace("..two dots", ".two dots");
    let subject_changed = text.replacen(&format!("{run} signed"), &format!("{run} forged"), 1);
    let (_, other_public) = keypair("other", &["genpkey", "-algorithm", "ed25519"]);
    let got = verdicts(
        &[
            (eml, "sel1", &public),
            (body_changed.as_bytes(), "sel1", &public),
            (subject_changed.as_bytes(), "sel1", &public),
            (eml, "sel1", &other_public),
        ],
        "pconn.example",
    );
    assert_eq!(got, [true, false, false, false], "{text}");
}

#[test]
fn rsa_sha256_pkcs8_signature_verifies() {
    sign_send_verify(
        "rsa8",
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ],
        "rsa-sha256",
    );
}

#[test]
fn rsa_sha256_pkcs1_signature_verifies() {
    sign_send_verify("rsa1", &["genrsa", "-traditional", "2048"], "rsa-sha256");
}

#[test]
fn ed25519_sha256_signature_verifies() {
    sign_send_verify(
        "ed",
        &["genpkey", "-algorithm", "ed25519"],
        "ed25519-sha256",
    );
}

#[test]
fn chosen_headers_are_the_signed_ones() {
    let run = unique("dkim-h");
    let (key, public) = keypair("edh", &["genpkey", "-algorithm", "ed25519"]);
    let pem = std::fs::read(&key).unwrap();
    let signer =
        DkimSigner::with_headers(&pem, "pconn.example", "s2", &["Subject", "X-Run"]).unwrap();
    let signed = signer.sign(&tricky_mail(&run)).unwrap();
    let text = String::from_utf8_lossy(signed.content()).into_owned();
    let sig = &text[..text.find("\r\nFrom:").unwrap_or(text.len())];
    let h = sig.split("h=").nth(1).unwrap().split(';').next().unwrap();
    let mut names: Vec<String> = h
        .split(':')
        .map(|s| s.trim().to_ascii_lowercase())
        .collect();
    names.sort();
    assert_eq!(names, ["from", "subject", "x-run"], "{sig}");
    // Cc is not signed: changing it keeps the signature valid; the subject is.
    let cc_changed = text.replace("<cc@example.com>", "<other@example.com>");
    let subject_changed = text.replace(" signed\r\n", " forged\r\n");
    let got = verdicts(
        &[
            (signed.content(), "s2", &public),
            (cc_changed.as_bytes(), "s2", &public),
            (subject_changed.as_bytes(), "s2", &public),
        ],
        "pconn.example",
    );
    assert_eq!(got, [true, true, false], "{text}");
}

#[test]
fn a_key_that_does_not_parse_is_a_clear_error() {
    let dir = std::env::temp_dir().join(unique("dkim-bad"));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.key");
    std::fs::write(
        &bad,
        "-----BEGIN PRIVATE KEY-----\nnot base64 at all!\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let err = DkimSigner::from_pem_file(&bad, "pconn.example", "s").unwrap_err();
    assert!(matches!(err, Error::Dkim(_)), "{err:?}");
    std::fs::write(
        &bad,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let err = DkimSigner::from_pem_file(&bad, "pconn.example", "s").unwrap_err();
    assert!(matches!(err, Error::Dkim(_)), "{err:?}");
    let err = DkimSigner::from_pem_file(dir.join("missing.key"), "pconn.example", "s").unwrap_err();
    assert!(matches!(err, Error::ReadInput { .. }), "{err:?}");
}
