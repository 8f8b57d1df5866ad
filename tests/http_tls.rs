//! TLS on the HTTP client against nginx: the version bounds of the
//! `ClientBuilder` (`min_tls_version`, `max_tls_version`) and what a
//! response says about its connection's TLS (`Response::tls_info`: the
//! negotiated version and the server's certificate), also on a reused
//! connection. 8443 is the base nginx (TLS 1.2 and 1.3); 8094 is the
//! second nginx limited to TLS 1.2 (scripts/servers.d/http-extra.sh).

use http_client::{Client, ClientBuilder, Error, InvalidInput, TlsVersion};
use integration_tests::{env_or, test_ca};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

fn https_url() -> String {
    env_or("PCONN_HTTPS_URL", "https://localhost:8443")
}

fn tls12_url() -> String {
    env_or("PCONN_HTTPS_TLS12_URL", "https://localhost:8094")
}

fn builder() -> ClientBuilder {
    Client::builder()
        .proxy_from_env(false)
        .add_ca_file(test_ca())
}

/// The DER of the certificate both nginx servers present (beside the CA).
fn server_cert() -> Vec<u8> {
    let path = test_ca().with_file_name("server.pem");
    let cert = CertificateDer::pem_file_iter(&path)
        .unwrap()
        .next()
        .unwrap();
    cert.unwrap().as_ref().to_vec()
}

#[test]
fn tls_info_gives_the_version_and_the_server_certificate_on_every_response() {
    let client = builder().build().unwrap();
    let url = format!("{}/small", https_url());
    let first = client.get(&url).call().unwrap();
    let info = first.tls_info().expect("TLS facts over https").clone();
    assert_eq!(info.version(), TlsVersion::Tls13);
    assert_eq!(first.tls_version(), Some("TLSv1_3"));
    assert_eq!(info.peer_certificate(), Some(&server_cert()[..]));
    first.bytes().unwrap();
    // The next response comes on the same (reused) connection, and says
    // the same.
    let second = client.get(&url).call().unwrap();
    assert_eq!(client.stats().opened, 1);
    assert_eq!(second.tls_info(), Some(&info));
    // Over plain http there is none.
    let plain = client
        .get(&format!(
            "{}/small",
            env_or("PCONN_HTTP_URL", "http://127.0.0.1:8080")
        ))
        .call()
        .unwrap();
    assert_eq!(plain.tls_info(), None);
}

#[test]
fn a_maximum_of_tls_1_2_negotiates_1_2() {
    let client = builder()
        .max_tls_version(TlsVersion::Tls12)
        .build()
        .unwrap();
    let resp = client
        .get(&format!("{}/small", https_url()))
        .call()
        .unwrap();
    let info = resp.tls_info().unwrap();
    assert_eq!(info.version(), TlsVersion::Tls12);
    assert_eq!(info.peer_certificate(), Some(&server_cert()[..]));
    // A minimum of 1.3 (and the default maximum) gets 1.3 from the same server.
    let client = builder()
        .min_tls_version(TlsVersion::Tls13)
        .build()
        .unwrap();
    let resp = client
        .get(&format!("{}/small", https_url()))
        .call()
        .unwrap();
    assert_eq!(resp.tls_info().unwrap().version(), TlsVersion::Tls13);
}

#[test]
fn a_minimum_of_tls_1_3_fails_against_a_server_limited_to_1_2() {
    // The server speaks 1.2 only: the default range gets 1.2 ...
    let resp = builder().build().unwrap().get(&tls12_url()).call().unwrap();
    assert_eq!(resp.tls_info().unwrap().version(), TlsVersion::Tls12);
    assert_eq!(resp.text().unwrap(), "tls=TLSv1.2\n");
    // ... and a minimum of 1.3 fails the handshake with a TLS error.
    let client = builder()
        .min_tls_version(TlsVersion::Tls13)
        .build()
        .unwrap();
    let err = client.get(&tls12_url()).call().unwrap_err();
    // "TLS error with localhost: received fatal alert: ProtocolVersion"
    let text = format!("{err} / {err:?}");
    assert!(
        matches!(
            err,
            Error::Transport(transport::Error::Tls {
                source: rustls::Error::AlertReceived(rustls::AlertDescription::ProtocolVersion),
                ..
            })
        ),
        "{text}"
    );
    assert_eq!(client.stats().opened, 0, "{text}");
}

#[test]
fn version_bounds_that_cannot_work_fail_at_build() {
    let err = builder()
        .min_tls_version(TlsVersion::Tls13)
        .max_tls_version(TlsVersion::Tls12)
        .build()
        .unwrap_err();
    match &err {
        Error::Transport(transport::Error::InvalidConfig(text)) => {
            assert!(text.contains("minimum TLS version (TLS 1.3)"), "{text}")
        }
        other => panic!("{other:?}"),
    }
    // Bounds belong to the TLS settings the client builds: not beside a
    // whole rustls configuration given by the caller.
    let tls = transport::TlsConfig::builder()
        .add_ca_file(test_ca())
        .build()
        .unwrap();
    let err = Client::builder()
        .tls_config(tls)
        .max_tls_version(TlsVersion::Tls12)
        .build()
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidInput(InvalidInput::Conflicting("tls_config", _))
        ),
        "{err:?}"
    );
}
