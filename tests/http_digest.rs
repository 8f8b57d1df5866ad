//! Digest authentication (RFC 7616) against Debian's lighttpd with
//! mod_auth's htdigest backend (`scripts/servers.d/http-digest.sh`): MD5
//! and SHA-256 with `qop=auth`, answered once on the same kept connection;
//! wrong credentials surface as the server's 401; credentials never go to
//! another origin after a redirect; a user name with CR/LF never leaves.

use std::io::Cursor;
use std::net::TcpListener;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use http_client::{Client, ClientBuilder, Error, InvalidInput, MiddlewareNext, MiddlewareRequest};
use integration_tests::env_or;

fn base() -> String {
    env_or("PCONN_DIGEST_URL", "http://127.0.0.1:8095")
}

fn user() -> String {
    env_or("PCONN_DIGEST_USER", "pconn")
}

fn password() -> String {
    env_or("PCONN_DIGEST_PASSWORD", "pconn-secret")
}

/// A client that counts the requests it sends (every hop and answer).
fn counting() -> (ClientBuilder, Arc<AtomicU32>) {
    let count = Arc::new(AtomicU32::new(0));
    let seen = Arc::clone(&count);
    let builder = Client::builder().proxy_from_env(false).middleware(
        move |req: &mut MiddlewareRequest<'_>, next: MiddlewareNext<'_>| {
            seen.fetch_add(1, Ordering::Relaxed);
            next.handle(req)
        },
    );
    (builder, count)
}

#[test]
fn md5_and_sha256_are_answered_on_the_same_connection() {
    let (builder, sent) = counting();
    let client = builder.build().unwrap();
    for (path, body) in [("md5", "md5 ok\n"), ("sha256", "sha256 ok\n")] {
        let url = format!("{}/{path}/", base());
        // Without credentials: the challenge as it came.
        let resp = client.get(&url).call().unwrap();
        assert_eq!(resp.status(), 401);
        let challenge = resp.header("www-authenticate").unwrap().to_string();
        assert!(challenge.starts_with("Digest "), "{challenge}");
        drop(resp);
        let resp = client
            .get(&url)
            .digest_auth(&user(), &password())
            .call()
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        assert!(resp.history().is_empty());
        assert_eq!(resp.text().unwrap(), body);
    }
    // 2 x (one unanswered, one answered twice), all on one connection.
    assert_eq!(sent.load(Ordering::Relaxed), 6);
    assert_eq!(client.stats().opened, 1);
}

#[test]
fn client_wide_credentials() {
    let client = Client::builder()
        .proxy_from_env(false)
        .digest_auth(&user(), &password())
        .build()
        .unwrap();
    for path in ["md5", "sha256"] {
        let resp = client.get(&format!("{}/{path}/", base())).call().unwrap();
        assert_eq!(resp.status(), 200, "{path}");
    }
    // HEAD too (the method is part of the answer).
    let resp = client.head(&format!("{}/md5/", base())).call().unwrap();
    assert_eq!(resp.status(), 200);
}

#[test]
fn wrong_credentials_surface_as_the_second_401() {
    let (builder, sent) = counting();
    let client = builder.build().unwrap();
    let url = format!("{}/sha256/", base());
    let resp = client
        .get(&url)
        .digest_auth(&user(), "wrong")
        .call()
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(resp
        .header("www-authenticate")
        .unwrap()
        .starts_with("Digest "));
    // One answer, not a loop.
    assert_eq!(sent.load(Ordering::Relaxed), 2);
    let err = client
        .get(&url)
        .digest_auth("nobody", &password())
        .error_for_status(true)
        .call()
        .unwrap_err();
    assert!(matches!(err, Error::Server { code: 401, .. }), "{err:?}");
}

#[test]
fn a_streamed_body_is_not_sent_again() {
    let (builder, sent) = counting();
    let client = builder.build().unwrap();
    let resp = client
        .put(&format!("{}/md5/", base()))
        .digest_auth(&user(), &password())
        .send_reader(&mut Cursor::new(b"once".to_vec()), Some(4))
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(sent.load(Ordering::Relaxed), 1);
}

#[test]
fn credentials_stay_with_their_origin() {
    let client = Client::builder()
        .proxy_from_env(false)
        .digest_auth(&user(), &password())
        .build()
        .unwrap();
    // Authenticated, then redirected to nginx-extra on another origin,
    // which echoes Authorization: none arrives.
    let resp = client.get(&format!("{}/md5/away", base())).call().unwrap();
    assert_eq!(resp.history().len(), 1);
    assert!(
        resp.url().as_str().ends_with(":8091/headers"),
        "{}",
        resp.url()
    );
    let text = resp.text().unwrap();
    assert!(text.contains("authorization= "), "{text}");
    // Redirected to the same lighttpd on another port, which asks again:
    // that challenge is not answered.
    let other = env_or("PCONN_DIGEST_OTHER_URL", "http://127.0.0.1:8096");
    let resp = client
        .get(&format!("{}/md5/away-digest", base()))
        .call()
        .unwrap();
    assert_eq!(resp.history().len(), 1);
    assert!(resp.url().as_str().starts_with(&other), "{}", resp.url());
    assert_eq!(resp.status(), 401);
}

#[test]
fn a_user_name_with_cr_lf_never_leaves() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let client = Client::builder().proxy_from_env(false).build().unwrap();
    let err = client
        .get(&url)
        .digest_auth("pconn\r\nX-Evil: 1", "p")
        .call()
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidInput(InvalidInput::ForbiddenByte { byte: b'\r', .. })
        ),
        "{err:?}"
    );
    assert_eq!(
        listener.accept().unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock
    );
    let err = Client::builder()
        .digest_auth("pconn\n", "p")
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
}
