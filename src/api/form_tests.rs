use super::*;
use serde_json::json;

const URLENCODED: Option<&str> = Some("application/x-www-form-urlencoded");

fn fields(content_type: Option<&str>, body: &str) -> Value {
    Value::Object(hook_fields(content_type, body.as_bytes()).unwrap())
}

fn refused(content_type: Option<&str>, body: &[u8]) -> ApiError {
    match hook_fields(content_type, body) {
        Ok(map) => panic!("accepted: {map:?}"),
        Err(e) => e,
    }
}

fn field_of(err: &ApiError) -> Option<String> {
    err.details()
        .and_then(|d| d["field"].as_str().map(str::to_string))
}

/// A multipart body from `(headers, value)` parts with `\r\n` line ends.
fn multipart_body(boundary: &str, parts: &[(&str, &str)]) -> String {
    let mut body = String::from("preamble to ignore\r\n");
    for (headers, value) in parts {
        body.push_str(&format!("--{boundary}\r\n{headers}\r\n\r\n{value}\r\n"));
    }
    body.push_str(&format!("--{boundary}--\r\nepilogue to ignore"));
    body
}

#[test]
fn json_keeps_its_types() {
    let got = fields(
        Some("application/json; charset=utf-8"),
        r#"{"email": "ada@example.com", "score": 70, "tags": ["a"], "ok": true}"#,
    );
    assert_eq!(
        got,
        json!({"email": "ada@example.com", "score": 70, "tags": ["a"], "ok": true})
    );
    assert_eq!(
        fields(Some("application/vnd.api+json"), r#"{"a": 1}"#),
        json!({"a": 1})
    );
    assert_eq!(fields(Some("Application/JSON"), "  \n"), json!({}));
}

#[test]
fn json_other_than_an_object_is_refused() {
    for body in ["[1, 2]", "\"text\"", "3", "null"] {
        let err = refused(Some("application/json"), body.as_bytes());
        assert_eq!((err.status(), err.code()), (400, "invalid_request"), "{body}");
    }
    assert_eq!(refused(Some("application/json"), b"{").code(), "invalid_json");
    let deep = format!(r#"{{"a": {}1{}}}"#, "[".repeat(40), "]".repeat(40));
    let err = refused(Some("application/json"), deep.as_bytes());
    assert_eq!(field_of(&err).as_deref(), Some("a"));
}

#[test]
fn urlencoded_decodes_plus_and_percent() {
    let got = fields(
        URLENCODED,
        "name=Ada+Lovelace&company=Analytical%20Engines&note=caf%C3%A9+%26+more&empty=&flag",
    );
    assert_eq!(
        got,
        json!({
            "name": "Ada Lovelace",
            "company": "Analytical Engines",
            "note": "café & more",
            "empty": "",
            "flag": ""
        })
    );
    // Names are decoded too, and `=` after the first belongs to the value.
    assert_eq!(
        fields(URLENCODED, "first+name=a%3Db=c"),
        json!({"first name": "a=b=c"})
    );
    // Empty pairs (`&&`, a trailing `&`) are nothing.
    assert_eq!(fields(URLENCODED, "&a=1&&"), json!({"a": "1"}));
}

#[test]
fn urlencoded_repeated_names_become_arrays() {
    let got = fields(URLENCODED, "tag=a&x=1&tag=b&tag=c");
    assert_eq!(got, json!({"tag": ["a", "b", "c"], "x": "1"}));
}

#[test]
fn a_malformed_percent_stays_as_written() {
    let got = fields(URLENCODED, "a=100%&b=%zz&c=%4&d=%41%4");
    assert_eq!(got, json!({"a": "100%", "b": "%zz", "c": "%4", "d": "A%4"}));
}

#[test]
fn invalid_utf8_is_refused_naming_the_field() {
    let err = refused(URLENCODED, b"ok=1&bio=%FF%FE");
    assert_eq!(err.code(), "invalid_request");
    assert_eq!(field_of(&err).as_deref(), Some("bio"));
    let err = refused(URLENCODED, b"bio=\xc3");
    assert_eq!(field_of(&err).as_deref(), Some("bio"));
    assert_eq!(refused(URLENCODED, b"%C3=1").code(), "invalid_request");
    let err = refused(
        Some("application/x-www-form-urlencoded; charset=iso-8859-1"),
        b"a=1",
    );
    assert_eq!((err.status(), err.code()), (415, "unsupported_media_type"));
}

#[test]
fn too_many_fields_or_a_long_name_is_refused() {
    let at_limit: Vec<String> = (0..MAX_FORM_FIELDS).map(|i| format!("f{i}=x")).collect();
    assert_eq!(
        hook_fields(URLENCODED, at_limit.join("&").as_bytes())
            .unwrap()
            .len(),
        MAX_FORM_FIELDS
    );
    // Repeats count: they are fields sent, even under one name.
    let repeated = vec!["a=1"; MAX_FORM_FIELDS + 1].join("&");
    let err = refused(URLENCODED, repeated.as_bytes());
    assert_eq!(err.code(), "invalid_request");
    assert!(
        err.message().contains("more than 200 fields"),
        "{}",
        err.message()
    );

    let members: Vec<String> = (0..=MAX_FORM_FIELDS).map(|i| format!("\"f{i}\": 1")).collect();
    let json_body = format!("{{{}}}", members.join(","));
    assert_eq!(
        refused(Some("application/json"), json_body.as_bytes()).status(),
        400
    );

    let name = "n".repeat(MAX_FORM_FIELD_NAME_CHARS);
    assert!(hook_fields(URLENCODED, format!("{name}=1").as_bytes()).is_ok());
    let err = refused(URLENCODED, format!("{name}n=1").as_bytes());
    assert!(
        err.message().contains("longer than 200 characters"),
        "{}",
        err.message()
    );
    let long_json = format!(r#"{{"{name}n": 1}}"#);
    assert_eq!(
        refused(Some("application/json"), long_json.as_bytes()).status(),
        400
    );
}

#[test]
fn multipart_text_parts_with_crlf() {
    let body = multipart_body(
        "----WebKitFormBoundary7MA4YWxkTrZu0gW",
        &[
            (
                "Content-Disposition: form-data; name=\"email\"",
                "ada@example.com",
            ),
            (
                "content-disposition: form-data; name=\"message\"\r\nContent-Type: text/plain; charset=UTF-8",
                "line one\r\nline two\r\n",
            ),
            ("Content-Disposition: form-data; name=\"tag\"", "a"),
            ("Content-Disposition: form-data; name=\"tag\"", "b"),
            ("Content-Disposition: form-data; name=\"empty\"", ""),
        ],
    );
    let got = fields(
        Some("multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW"),
        &body,
    );
    assert_eq!(
        got,
        json!({
            "email": "ada@example.com",
            "message": "line one\r\nline two\r\n",
            "tag": ["a", "b"],
            "empty": ""
        })
    );
}

#[test]
fn multipart_with_bare_lf_line_ends() {
    let body = "--xyz\nContent-Disposition: form-data; name=\"a\"\n\nfirst\n--xyz\nContent-Disposition: form-data; name=\"b\"\n\nsecond\nline\n--xyz--\n";
    let got = fields(Some("multipart/form-data; boundary=xyz"), body);
    assert_eq!(got, json!({"a": "first", "b": "second\nline"}));
}

#[test]
fn multipart_quoted_boundary_and_lookalike_lines() {
    let boundary = "simple boundary:with=odd?chars";
    let body = multipart_body(
        boundary,
        &[(
            "Content-Disposition: form-data; name=\"note\"",
            // A line that starts like the delimiter but goes on is content.
            &format!("--{boundary}X is not a delimiter\r\n-- {boundary}"),
        )],
    );
    let content_type = format!("multipart/form-data; boundary=\"{boundary}\"; charset=utf-8");
    let got = fields(Some(&content_type), &body);
    assert_eq!(
        got,
        json!({"note": format!("--{boundary}X is not a delimiter\r\n-- {boundary}")})
    );
}

#[test]
fn multipart_names_quoted_escaped_and_extended() {
    let body = multipart_body(
        "b",
        &[
            (r#"Content-Disposition: form-data; name="say \"hi\"""#, "1"),
            (
                "Content-Disposition: form-data; name=\"fallback\"; name*=UTF-8''pr%C3%A9nom",
                "Zoë",
            ),
            ("Content-Disposition: form-data; name=unquoted", "2"),
        ],
    );
    let got = fields(Some("multipart/form-data; boundary=b"), &body);
    assert_eq!(got, json!({"say \"hi\"": "1", "prénom": "Zoë", "unquoted": "2"}));
    let bad = multipart_body("b", &[("Content-Disposition: form-data; name*=latin1''x", "1")]);
    assert_eq!(
        refused(Some("multipart/form-data; boundary=b"), bad.as_bytes()).status(),
        400
    );
}

#[test]
fn a_file_part_is_refused_naming_the_field() {
    let ct = Some("multipart/form-data; boundary=b");
    for headers in [
        "Content-Disposition: form-data; name=\"cv\"; filename=\"cv.pdf\"\r\nContent-Type: application/pdf",
        "Content-Disposition: form-data; name=\"cv\"; filename=\"\"",
        "Content-Disposition: form-data; name=\"cv\"; filename*=UTF-8''cv.pdf",
    ] {
        let body = multipart_body(
            "b",
            &[
                ("Content-Disposition: form-data; name=\"a\"", "1"),
                (headers, "%PDF"),
            ],
        );
        let err = refused(ct, body.as_bytes());
        assert_eq!((err.status(), err.code()), (400, "invalid_request"), "{headers}");
        assert_eq!(field_of(&err).as_deref(), Some("cv"));
        assert!(
            err.message().contains("files are not accepted"),
            "{}",
            err.message()
        );
    }
    let binary = multipart_body(
        "b",
        &[(
            "Content-Disposition: form-data; name=\"blob\"\r\nContent-Type: application/octet-stream",
            "x",
        )],
    );
    let err = refused(ct, binary.as_bytes());
    assert_eq!(field_of(&err).as_deref(), Some("blob"));
}

#[test]
fn malformed_multipart_is_refused() {
    let ct = Some("multipart/form-data; boundary=b");
    let cut = "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n";
    assert!(refused(ct, cut.as_bytes()).message().contains("closing boundary"));
    assert!(refused(ct, b"no delimiter at all")
        .message()
        .contains("closing boundary"));
    let no_name = multipart_body("b", &[("Content-Disposition: form-data", "1")]);
    assert!(refused(ct, no_name.as_bytes()).message().contains("no name"));
    let not_form = multipart_body("b", &[("Content-Disposition: attachment; name=\"a\"", "1")]);
    assert_eq!(refused(ct, not_form.as_bytes()).status(), 400);
    let bad_text = b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n\xff\r\n--b--";
    assert_eq!(field_of(&refused(ct, bad_text)).as_deref(), Some("a"));
    for header in [
        "multipart/form-data",
        "multipart/form-data; boundary=",
        &format!("multipart/form-data; boundary={}", "x".repeat(71)),
    ] {
        let err = refused(Some(header), b"--b--");
        assert!(err.message().contains("boundary"), "{header}: {}", err.message());
    }
}

#[test]
fn multipart_part_count_is_bounded() {
    let header = "Content-Disposition: form-data; name=\"f\"";
    let parts = vec![(header, "x"); MAX_FORM_FIELDS + 1];
    let body = multipart_body("b", &parts);
    let err = refused(Some("multipart/form-data; boundary=b"), body.as_bytes());
    assert!(
        err.message().contains("more than 200 fields"),
        "{}",
        err.message()
    );
    let body = multipart_body("b", &parts[..MAX_FORM_FIELDS]);
    let got = hook_fields(Some("multipart/form-data; boundary=b"), body.as_bytes()).unwrap();
    assert_eq!(got["f"].as_array().unwrap().len(), MAX_FORM_FIELDS);
}

#[test]
fn an_empty_body_is_no_fields() {
    for ct in [
        None,
        Some("application/json"),
        URLENCODED,
        Some("multipart/form-data; boundary=b"),
        Some("text/plain"),
    ] {
        assert_eq!(hook_fields(ct, b"").unwrap(), Map::new(), "{ct:?}");
    }
}

#[test]
fn other_content_types_are_415() {
    for ct in [
        None,
        Some(""),
        Some("text/plain"),
        Some("application/xml"),
        Some("json"),
    ] {
        let err = refused(ct, b"a=1");
        assert_eq!(
            (err.status(), err.code()),
            (415, "unsupported_media_type"),
            "{ct:?}"
        );
        assert!(
            err.message().contains("application/x-www-form-urlencoded"),
            "{ct:?}"
        );
    }
}

#[test]
fn an_oversized_body_is_413() {
    let big = vec![b'a'; MAX_BODY_BYTES + 1];
    assert_eq!(refused(URLENCODED, &big).status(), 413);
}

#[test]
fn parameters_parse_like_http_says() {
    let (media, params) = media_type(r#" Multipart/Form-Data ; Boundary="a;b\"c" ;charset=UTF-8"#);
    assert_eq!(media, "multipart/form-data");
    assert_eq!(
        params,
        vec![
            ("boundary".to_string(), "a;b\"c".to_string()),
            ("charset".to_string(), "UTF-8".to_string())
        ]
    );
    assert_eq!(percent_decode(b"a+b%2", false), b"a+b%2".to_vec());
}

#[test]
fn arbitrary_input_never_panics() {
    // Bodies stitched from the pieces parsers trip on, in pseudo-random order.
    const PIECES: &[&[u8]] = &[
        b"--b",
        b"--b--",
        b"\r\n",
        b"\n",
        b"\r",
        b"Content-Disposition: form-data; name=\"",
        b"name*=UTF-8''%",
        b"filename=",
        b"\"",
        b"\\",
        b";",
        b"=",
        b"&",
        b"+",
        b"%",
        b"%4",
        b"%zz",
        b"%C3",
        b"\xff",
        b"\xc3\xa9",
        b"Content-Type: text/plain; charset=",
        b":",
        b" ",
        b"a",
        b"{",
        b"[",
    ];
    let types = [
        "multipart/form-data; boundary=b",
        "multipart/form-data; boundary=\"b",
        "application/x-www-form-urlencoded",
        "application/json",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..4000 {
        let len = (next() % 40) as usize;
        let body: Vec<u8> = (0..len)
            .flat_map(|_| PIECES[(next() % PIECES.len() as u64) as usize].iter().copied())
            .collect();
        let ct = types[(next() % types.len() as u64) as usize];
        if let Err(e) = hook_fields(Some(ct), &body) {
            assert!(matches!(e.status(), 400 | 415), "{ct} {body:?}: {e:?}");
        }
    }
}
