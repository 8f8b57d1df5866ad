//! The cookie jar against the second nginx of `scripts/servers.d/http-extra.sh`
//! (8090 as 127.0.0.1, 8091 as localhost, 8093 as localhost over TLS):
//! host, path and `Secure` rules, a cookie for another site refused, the
//! cross-origin redirect rule, a jar shared by clones and saved as JSON.

use http_client::{Client, ClientBuilder, CookieJar};
use integration_tests::env_or;

fn base() -> String {
    env_or("PCONN_HTTP_EXTRA_URL", "http://127.0.0.1:8090")
}

fn other() -> String {
    env_or("PCONN_HTTP_EXTRA_OTHER_URL", "http://localhost:8091")
}

fn tls() -> String {
    env_or("PCONN_HTTPS_EXTRA_URL", "https://localhost:8093")
}

fn builder() -> ClientBuilder {
    Client::builder()
        .proxy_from_env(false)
        .add_ca_file(integration_tests::test_ca())
}

/// The cookies the server saw, in name order.
fn seen(client: &Client, url: &str) -> Vec<String> {
    let text = client.get(url).call().unwrap().text().unwrap();
    let value = text
        .trim_end()
        .strip_prefix("cookie=")
        .unwrap_or_else(|| panic!("{text}"));
    let mut v: Vec<String> = value
        .split("; ")
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

#[test]
fn cookies_go_only_where_their_rules_allow() {
    let jar = CookieJar::new();
    let client = builder().cookie_jar(jar.clone()).build().unwrap();
    client
        .get(&format!("{}/cookies/set", tls()))
        .call()
        .unwrap();
    // Over https to the same host: all of them, the path one on its path.
    assert_eq!(
        seen(&client, &format!("{}/cookies/headers", tls())),
        ["plain=1", "scoped=2", "sec=3"]
    );
    // Plain http to the same host: never the Secure one; ports do not matter.
    assert_eq!(
        seen(&client, &format!("{}/cookies/headers", other())),
        ["plain=1", "scoped=2"]
    );
    // Another host: none of them.
    assert!(seen(&client, &format!("{}/cookies/headers", base())).is_empty());
    // The cookie for example.com was never stored.
    assert!(!jar.names_and_values().iter().any(|(n, _)| n == "other"));
}

#[test]
fn a_cookie_does_not_follow_a_redirect_to_another_site() {
    let jar = CookieJar::new();
    let client = builder().cookie_jar(jar.clone()).build().unwrap();
    // 127.0.0.1 sets hop=1 and redirects to localhost: hop stays behind.
    let resp = client
        .get(&format!("{}/cookies/redirect-cross", base()))
        .call()
        .unwrap();
    assert_eq!(resp.url().as_str(), format!("{}/cookies/headers", other()));
    assert_eq!(resp.text().unwrap(), "cookie=\n");
    assert!(jar.names_and_values().iter().any(|(n, _)| n == "hop"));
    // Back on its own site it is sent.
    assert_eq!(
        seen(&client, &format!("{}/cookies/headers", base())),
        ["hop=1"]
    );
}

#[test]
fn a_jar_is_shared_by_clones_and_survives_json() {
    let jar = CookieJar::new();
    let client = builder().cookie_jar(jar.clone()).build().unwrap();
    let clone = client.clone();
    clone
        .get(&format!("{}/cookies/set", base()))
        .call()
        .unwrap();
    assert_eq!(
        seen(&client, &format!("{}/cookies/headers", base())),
        ["plain=1", "scoped=2"]
    );
    let mut saved = Vec::new();
    jar.save_json(&mut saved).unwrap();
    let loaded = CookieJar::load_json(&saved[..]).unwrap();
    let fresh = builder().cookie_jar(loaded).build().unwrap();
    assert_eq!(
        seen(&fresh, &format!("{}/cookies/headers", base())),
        ["plain=1", "scoped=2"]
    );
    // A client without a jar sends and keeps nothing.
    let plain = builder().build().unwrap();
    plain
        .get(&format!("{}/cookies/set", base()))
        .call()
        .unwrap();
    assert!(seen(&plain, &format!("{}/cookies/headers", base())).is_empty());
}
