//! The target guard: every private spelling refused with the flag off and
//! allowed with it on, malformed or credentialed URLs refused always, and
//! no request reaching the network when a target is refused.

mod actions_support;

use actions_support::*;
use edgeflow::actions::ssrf::{check, parse, parse_ipv4, resolve_location, Host};
use serde_json::json;
use std::net::Ipv4Addr;

/// Private, loopback, link-local, metadata and reserved targets in many spellings.
const PRIVATE: &[&str] = &[
    // names
    "http://localhost/",
    "http://LOCALHOST:8080/x",
    "http://localhost./",
    "http://api.localhost/",
    "http://metadata/computeMetadata/v1/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://instance-data/latest/",
    "http://printer.local/",
    "http://db.internal/",
    "http://intranet/",
    // IPv4 loopback in every spelling
    "http://127.0.0.1/",
    "http://127.0.0.1.:80/",
    "http://127.1/",
    "http://127.0.1/",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://0x7f.0.0.1/",
    "http://0x7F000001/",
    "http://0x7f.1/",
    "http://017700000001/",
    "http://127.0x0.0.01/",
    "http://127.255.255.254/",
    // other reserved IPv4 ranges
    "http://0.0.0.0/",
    "http://0/",
    "http://10.1.2.3/",
    "http://172.16.0.1/",
    "http://172.31.255.255/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://0xa9fea9fe/",
    "http://2852039166/",
    "http://100.64.0.1/",
    "http://100.127.255.255/",
    "http://224.0.0.1/",
    "http://239.255.255.250/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    "http://192.0.0.8/",
    "http://198.18.0.1/",
    // IPv6
    "http://[::1]/",
    "http://[0:0:0:0:0:0:0:1]:8080/",
    "http://[::]/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://[fe80::1]/",
    "http://[febf::1]/",
    "http://[ff02::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::127.0.0.1]/",
    "http://[::ffff:0:127.0.0.1]/",
    "http://[64:ff9b::127.0.0.1]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[64:ff9b:1::1]/",
    "http://[2002:7f00:1::]/",
    "http://[2001:db8::1]/",
];

/// Public targets, some in unusual spellings, that must pass.
const PUBLIC: &[&str] = &[
    "https://example.com/hook",
    "http://example.com:8080/a?b=c",
    "https://EXAMPLE.com./",
    "https://api.example.co.uk/v1/items?x=1#frag",
    "http://93.184.216.34/",
    "http://1572395042/",
    "http://0x5db8d822/",
    "http://172.32.0.1/",
    "http://100.128.0.1/",
    "http://192.169.0.1/",
    "http://[2606:4700:4700::1111]/",
    "http://[::ffff:93.184.216.34]/",
    "http://[64:ff9b::93.184.216.34]/",
    "http://localhost.example.com/",
    "http://xn--bcher-kva.example/",
];

/// Refused whatever the flag says: schemes, credentials, ambiguous forms.
const ALWAYS_REFUSED: &[&str] = &[
    "ftp://example.com/",
    "file:///etc/passwd",
    "gopher://example.com/",
    "javascript:alert(1)",
    "http:example.com",
    "http:/example.com",
    "//example.com/",
    "example.com",
    "http://user:pass@example.com/",
    "http://user@example.com/",
    "http://@example.com/",
    "http://example.com@127.0.0.1/",
    "http://evil.com\\@127.0.0.1/",
    "http://exa mple.com/",
    "http://example.com/a\nb",
    "http://ex\tample.com/",
    "http://%31%32%37.0.0.1/",
    "http://１２７.０.０.１/",
    "http://bücher.example/",
    "http://[::1/",
    "http://[::1]x/",
    "http://[fe80::1%25eth0]/",
    "http://example.com:99999/",
    "http://example.com:80a/",
    "http://256.0.0.1/",
    "http://1.2.3.4.5/",
    "http://4294967296/",
    "http://0x100000000/",
    "http://09.0.0.1/",
    "http://a..b.com/",
    "http:///path",
    "http://",
];

#[test]
fn private_targets_are_refused_with_the_flag_off_and_allowed_with_it_on() {
    for url in PRIVATE {
        let refusal = check(url, false).expect_err(url);
        assert!(refusal.private, "{url}: {refusal:?}");
        assert!(
            refusal.to_string().contains("ALLOW_PRIVATE_TARGETS"),
            "{url}: {refusal}"
        );
        assert!(check(url, true).is_ok(), "{url} should pass with the flag on");
    }
}

#[test]
fn public_targets_pass() {
    for url in PUBLIC {
        assert!(check(url, false).is_ok(), "{url}: {:?}", check(url, false));
    }
}

#[test]
fn malformed_schemes_and_credentials_are_refused_even_with_the_flag_on() {
    for url in ALWAYS_REFUSED {
        let refusal = check(url, true).expect_err(url);
        assert!(!refusal.private, "{url}: {refusal:?}");
    }
    assert!(check("http://user:pw@localhost/", true)
        .unwrap_err()
        .reason
        .contains("credentials"));
    assert!(check("ftp://example.com/", true)
        .unwrap_err()
        .reason
        .contains("scheme"));
}

#[test]
fn every_ipv4_spelling_reads_as_fetch_reads_it() {
    let loopback = Ipv4Addr::new(127, 0, 0, 1);
    for spelling in [
        "127.0.0.1",
        "2130706433",
        "0177.0.0.1",
        "0x7f.0.0.1",
        "0x7f.1",
        "127.1",
        "127.0.1",
        "127.0.0.1.",
    ] {
        assert_eq!(parse_ipv4(spelling), Some(loopback), "{spelling}");
    }
    assert_eq!(parse_ipv4("0x"), Some(Ipv4Addr::new(0, 0, 0, 0)));
    assert_eq!(parse_ipv4("1.2.65535"), Some(Ipv4Addr::new(1, 2, 255, 255)));
    assert_eq!(parse_ipv4("1.2.65536"), None);
    assert_eq!(parse_ipv4("1.256.3"), None);
    assert_eq!(parse_ipv4("08"), None, "8 is not an octal digit");
}

#[test]
fn the_checked_target_is_normalized_for_sending() {
    let t = check("HTTP://0x7f.1:8080/a/b?c=d#frag", true).unwrap();
    assert_eq!(t.host, Host::V4(Ipv4Addr::new(127, 0, 0, 1)));
    assert_eq!(t.url(), "http://127.0.0.1:8080/a/b?c=d");
    assert_eq!(
        parse("https://Example.COM").unwrap().url(),
        "https://example.com/"
    );
    assert_eq!(parse("http://[::1]:81?q").unwrap().url(), "http://[::1]:81/?q");
}

#[test]
fn redirect_locations_resolve_against_the_answering_url() {
    let base = parse("https://hooks.example.com/a/b?x=1").unwrap();
    let cases = [
        ("https://other.example/p", "https://other.example/p"),
        ("//other.example/p", "https://other.example/p"),
        ("/root", "https://hooks.example.com/root"),
        ("sibling", "https://hooks.example.com/a/sibling"),
        ("?y=2", "https://hooks.example.com/a/b?y=2"),
        ("http://127.0.0.1/", "http://127.0.0.1/"),
    ];
    for (location, expected) in cases {
        assert_eq!(resolve_location(&base, location), expected, "{location}");
    }
}

#[test]
fn a_refused_webhook_sends_nothing() {
    let config = config(&[]);
    for url in PRIVATE.iter().chain(ALWAYS_REFUSED) {
        let out = Fake::new();
        let message = fatal_message(run(&config, &out, "webhook_call", json!({ "url": url })));
        assert_eq!(out.count(), 0, "{url} reached the network");
        assert!(message.contains("refused"), "{url}: {message}");
    }
}

#[test]
fn with_the_flag_on_a_private_webhook_is_sent() {
    let config = config(&[("ALLOW_PRIVATE_TARGETS", "true")]);
    for url in PRIVATE {
        let out = Fake::new().then(200, "{}");
        run(&config, &out, "webhook_call", json!({ "url": url })).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(out.count(), 1, "{url}");
    }
}
