//! Redirects against the second nginx of `scripts/servers.d/http-extra.sh`
//! (8090, another origin on 8091, TLS on 8093): the method and body rules
//! per status, credentials kept only within an origin, `Referer`, the
//! history on the response, the caller's policy, and the hostile targets
//! (a loop, `file:`, `data:`, a downgrade to plain http).

use std::io::Cursor;

use http_client::{Client, ClientBuilder, Decision, Error, RedirectError, RedirectPolicy};
use integration_tests::env_or;

fn base() -> String {
    env_or("PCONN_HTTP_EXTRA_URL", "http://127.0.0.1:8090")
}

fn tls_base() -> String {
    env_or("PCONN_HTTPS_EXTRA_URL", "https://localhost:8093")
}

fn builder() -> ClientBuilder {
    Client::builder()
        .proxy_from_env(false)
        .add_ca_file(integration_tests::test_ca())
}

fn refused(result: Result<http_client::Response, Error>) -> RedirectError {
    match result {
        Err(Error::Redirect { reason, .. }) => reason,
        other => panic!("expected a refused redirect, got {other:?}"),
    }
}

#[test]
fn each_status_keeps_or_drops_method_and_body() {
    let client = builder().build().unwrap();
    for (status, method_after, body_after) in [
        (301, "GET", ""),
        (302, "GET", ""),
        (303, "GET", ""),
        (307, "POST", "the body"),
        (308, "POST", "the body"),
    ] {
        let url = format!("{}/redirect/status/{status}", base());
        let resp = client
            .post(&url)
            .header("Content-Type", "text/plain")
            .send_string("the body")
            .unwrap();
        assert_eq!(resp.history().len(), 1, "{status}");
        assert_eq!(resp.history()[0].as_str(), url);
        assert!(resp.url().as_str().ends_with("/method"));
        let text = resp.text().unwrap();
        assert_eq!(text, format!("{method_after}\n{body_after}"), "{status}");
    }
    // A PUT through 303 becomes a GET too; through 301 it stays a PUT.
    let text = client
        .put(&format!("{}/redirect/status/303", base()))
        .send_string("x")
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(text, "GET\n");
    let text = client
        .put(&format!("{}/redirect/status/301", base()))
        .send_string("x")
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(text, "PUT\nx");
}

#[test]
fn a_streamed_body_cannot_follow_a_307() {
    let client = builder().build().unwrap();
    let mut body = Cursor::new(b"streamed".to_vec());
    let err = refused(
        client
            .post(&format!("{}/redirect/status/307", base()))
            .send_reader(&mut body, Some(8)),
    );
    assert_eq!(err, RedirectError::BodyNotReplayable);
    // A 303 drops the body anyway: fine.
    let mut body = Cursor::new(b"streamed".to_vec());
    let resp = client
        .post(&format!("{}/redirect/status/303", base()))
        .send_reader(&mut body, None)
        .unwrap();
    assert_eq!(resp.text().unwrap(), "GET\n");
}

#[test]
fn credentials_stay_with_their_origin_and_referer_names_the_last_hop() {
    let client = builder().build().unwrap();
    let same = client
        .get(&format!("{}/redirect/same", base()))
        .bearer_auth("secret-token")
        .header("Cookie", "session=1")
        .header("Proxy-Authorization", "Basic cHJveHk=")
        .call()
        .unwrap()
        .text()
        .unwrap();
    assert!(same.contains("authorization=Bearer secret-token"), "{same}");
    assert!(same.contains("cookie=session=1"), "{same}");
    assert!(
        same.contains(&format!("referer={}/redirect/same\n", base())),
        "{same}"
    );

    let resp = client
        .get(&format!("{}/redirect/cross", base()))
        .bearer_auth("secret-token")
        .header("Cookie", "session=1")
        .header("Proxy-Authorization", "Basic cHJveHk=")
        .call()
        .unwrap();
    assert_eq!(resp.url().as_str(), "http://localhost:8091/headers");
    let text = resp.text().unwrap();
    assert!(text.contains("host=localhost:8091"), "{text}");
    assert!(
        text.contains("authorization= cookie= proxy-authorization= "),
        "{text}"
    );
    assert!(!text.contains("secret-token"), "{text}");
    assert!(
        text.contains(&format!("referer={}/redirect/cross", base())),
        "{text}"
    );

    // Without Referer when told.
    let text = builder()
        .referer(false)
        .build()
        .unwrap()
        .get(&format!("{}/redirect/same", base()))
        .call()
        .unwrap()
        .text()
        .unwrap();
    assert!(text.ends_with("referer=\n"), "{text}");
}

#[test]
fn hostile_targets_are_refused() {
    let client = builder().build().unwrap();
    let get = |path: &str| client.get(&format!("{}{path}", base())).call();
    assert_eq!(refused(get("/redirect/loop")), RedirectError::Loop);
    assert_eq!(refused(get("/redirect/loop-a")), RedirectError::Loop);
    assert_eq!(
        refused(get("/redirect/file")),
        RedirectError::Scheme("file".into())
    );
    assert_eq!(
        refused(get("/redirect/data")),
        RedirectError::Scheme("data".into())
    );
    // https -> http: refused by default, with no request to the http origin.
    let err = refused(client.get(&format!("{}/to-http", tls_base())).call());
    assert_eq!(err, RedirectError::Downgrade);
    let resp = builder()
        .redirect_https_downgrade(true)
        .build()
        .unwrap()
        .get(&format!("{}/to-http", tls_base()))
        .bearer_auth("secret-token")
        .call()
        .unwrap();
    let text = resp.text().unwrap();
    // Followed, but no credentials and no Referer go down to plain http.
    assert!(text.contains("authorization= "), "{text}");
    assert!(text.ends_with("referer=\n"), "{text}");
}

#[test]
fn the_callers_policy_decides_each_hop() {
    let stay_home = RedirectPolicy::custom(|hop| {
        if hop.url().port_or_known_default() == hop.previous()[0].port_or_known_default() {
            Decision::Follow
        } else {
            Decision::Stop
        }
    });
    let client = builder().redirect_policy(stay_home).build().unwrap();
    let resp = client
        .get(&format!("{}/redirect/cross", base()))
        .call()
        .unwrap();
    assert_eq!(resp.status(), 302);
    assert!(resp.history().is_empty());
    let resp = client
        .get(&format!("{}/redirect/same", base()))
        .call()
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.history().len(), 1);

    let refuse = RedirectPolicy::custom(|_| Decision::Refuse("no redirects here".into()));
    let client = builder().redirect_policy(refuse).build().unwrap();
    assert_eq!(
        refused(client.get(&format!("{}/redirect/same", base())).call()),
        RedirectError::Refused("no redirects here".into())
    );

    let none = builder()
        .redirect_policy(RedirectPolicy::none())
        .build()
        .unwrap();
    let resp = none
        .get(&format!("{}/redirect/same", base()))
        .call()
        .unwrap();
    assert_eq!(resp.status(), 302);
}
