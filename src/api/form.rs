//! Public form posts: the body of a hook request, as a website form or a
//! script sends it (JSON, urlencoded or multipart), becomes the run's
//! `trigger_data`, a flat object of the submitted fields.

use serde_json::{Map, Value};

use super::body::object_from_slice;
use crate::error::ApiError;
use crate::limits::{MAX_BODY_BYTES, MAX_FORM_FIELDS, MAX_FORM_FIELD_NAME_CHARS};

const ACCEPTED: &str = "application/json, application/x-www-form-urlencoded or multipart/form-data";

/// The fields of a form post, by its `Content-Type`:
/// - `application/json` (or `application/*+json`): an object, members keep
///   their JSON types and nest at most `MAX_JSON_DEPTH` levels;
/// - `application/x-www-form-urlencoded`: `+` is a space, `%XX` a byte, and a
///   `%` not followed by two hex digits stays as written (as browsers read it);
/// - `multipart/form-data`: text parts only; a part with a file is refused.
///
/// Form values are strings; a name sent more than once becomes an array of
/// its values in order. Text must be UTF-8. At most `MAX_FORM_FIELDS`
/// fields, names at most `MAX_FORM_FIELD_NAME_CHARS` characters. An empty
/// body is `{}` whatever its type (nothing was submitted). Errors: `400
/// invalid_json` / `invalid_request` (naming the field where there is one),
/// `413` beyond `MAX_BODY_BYTES`, `415 unsupported_media_type` for any other
/// type or charset.
pub fn hook_fields(content_type: Option<&str>, body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        });
    }
    if body.is_empty() {
        return Ok(Map::new());
    }
    let Some(header) = content_type.filter(|c| !c.trim().is_empty()) else {
        return Err(ApiError::UnsupportedMediaType(format!(
            "a Content-Type is required: {ACCEPTED}"
        )));
    };
    let (media, params) = media_type(header);
    let is_json =
        media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"));
    if is_json {
        utf8_only(&params)?;
        let map = object_from_slice(body, true)?;
        check_json_fields(&map)?;
        Ok(map)
    } else if media == "application/x-www-form-urlencoded" {
        utf8_only(&params)?;
        urlencoded(body)
    } else if media == "multipart/form-data" {
        let boundary = param(&params, "boundary")
            .filter(|b| (1..=70).contains(&b.len()))
            .ok_or_else(|| ApiError::InvalidRequest {
                message: "multipart/form-data needs a boundary parameter of 1 to 70 characters".into(),
                field: None,
            })?;
        multipart(body, boundary)
    } else {
        let shown: String = media.chars().take(100).collect();
        Err(ApiError::UnsupportedMediaType(format!(
            "Content-Type {shown} is not accepted; send {ACCEPTED}"
        )))
    }
}

/// A `type/subtype; name=value; ...` header value: the media type
/// lower-cased and its parameters, names lower-cased, quoted values unquoted.
fn media_type(header: &str) -> (String, Vec<(String, String)>) {
    let (media, rest) = header.split_once(';').unwrap_or((header, ""));
    (media.trim().to_ascii_lowercase(), params(rest))
}

/// `name=value` parameters separated by `;`; a value may be a quoted
/// string with backslash escapes (and then may hold `;`).
fn params(mut rest: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    loop {
        rest = rest.trim_start_matches([';', ' ', '\t']);
        if rest.is_empty() {
            return out;
        }
        let end = rest.find(['=', ';']).unwrap_or(rest.len());
        let name = rest[..end].trim().to_ascii_lowercase();
        rest = &rest[end..];
        let mut value = String::new();
        if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            if let Some(quoted) = after.strip_prefix('"') {
                let mut consumed = quoted.len();
                let mut chars = quoted.char_indices();
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => value.extend(chars.next().map(|(_, c)| c)),
                        '"' => {
                            consumed = i + 1;
                            break;
                        }
                        c => value.push(c),
                    }
                }
                rest = &quoted[consumed..];
            } else {
                let end = after.find(';').unwrap_or(after.len());
                value = after[..end].trim().to_string();
                rest = &after[end..];
            }
        }
        if !name.is_empty() {
            out.push((name, value));
        }
    }
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// Only UTF-8 text is read (US-ASCII is a subset); another charset would be
/// misread, so it is refused rather than guessed at.
fn utf8_only(params: &[(String, String)]) -> Result<(), ApiError> {
    match param(params, "charset") {
        None => Ok(()),
        Some(c)
            if ["utf-8", "utf8", "us-ascii"]
                .iter()
                .any(|u| c.eq_ignore_ascii_case(u)) =>
        {
            Ok(())
        }
        Some(other) => {
            let shown: String = other.chars().take(40).collect();
            Err(ApiError::UnsupportedMediaType(format!(
                "only UTF-8 bodies are accepted, not charset={shown}"
            )))
        }
    }
}

fn invalid(message: String, field: Option<&str>) -> ApiError {
    ApiError::InvalidRequest {
        message,
        field: field.map(str::to_string),
    }
}

fn too_many_fields() -> ApiError {
    invalid(format!("the form has more than {MAX_FORM_FIELDS} fields"), None)
}

fn check_name(name: &str) -> Result<(), ApiError> {
    if name.chars().count() > MAX_FORM_FIELD_NAME_CHARS {
        let start: String = name.chars().take(40).collect();
        return Err(invalid(
            format!("the field name {start:?}... is longer than {MAX_FORM_FIELD_NAME_CHARS} characters"),
            None,
        ));
    }
    Ok(())
}

fn check_json_fields(map: &Map<String, Value>) -> Result<(), ApiError> {
    if map.len() > MAX_FORM_FIELDS {
        return Err(too_many_fields());
    }
    map.keys().try_for_each(|k| check_name(k))
}

/// Form fields as they arrive; a repeated name collects its values in an array.
#[derive(Default)]
struct Fields {
    map: Map<String, Value>,
    count: usize,
}

impl Fields {
    /// Counts one more field before it is decoded, so an oversized form
    /// stops at the first field beyond the limit.
    fn reserve(&mut self) -> Result<(), ApiError> {
        self.count += 1;
        if self.count > MAX_FORM_FIELDS {
            return Err(too_many_fields());
        }
        Ok(())
    }

    fn add(&mut self, name: String, value: String) -> Result<(), ApiError> {
        check_name(&name)?;
        match self.map.get_mut(&name) {
            None => {
                self.map.insert(name, Value::String(value));
            }
            Some(Value::Array(values)) => values.push(Value::String(value)),
            Some(first) => *first = Value::Array(vec![first.take(), Value::String(value)]),
        }
        Ok(())
    }
}

/// Percent-decoding; `%` not followed by two hex digits is kept as is.
fn percent_decode(input: &[u8], plus_is_space: bool) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'%' => match (
                input.get(i + 1).and_then(|&b| hex(b)),
                input.get(i + 2).and_then(|&b| hex(b)),
            ) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    out
}

fn utf8(bytes: Vec<u8>, what: impl FnOnce() -> (String, Option<String>)) -> Result<String, ApiError> {
    String::from_utf8(bytes).map_err(|_| {
        let (message, field) = what();
        invalid(message, field.as_deref())
    })
}

fn urlencoded(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let mut fields = Fields::default();
    for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        fields.reserve()?;
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(at) => (&pair[..at], &pair[at + 1..]),
            None => (pair, &[][..]),
        };
        let name = utf8(percent_decode(name, true), || {
            ("a field name is not valid UTF-8".into(), None)
        })?;
        let value = utf8(percent_decode(value, true), || {
            (format!("`{name}` is not valid UTF-8"), Some(name.clone()))
        })?;
        fields.add(name, value)?;
    }
    Ok(fields.map)
}

/// A line without its `\n` or `\r\n`, and where the next one starts.
fn line_at(body: &[u8], start: usize) -> (&[u8], usize) {
    let (end, next) = match body[start..].iter().position(|&b| b == b'\n') {
        Some(i) => (start + i, start + i + 1),
        None => (body.len(), body.len()),
    };
    let line = &body[start..end];
    (line.strip_suffix(b"\r").unwrap_or(line), next)
}

#[derive(PartialEq)]
enum Delimiter {
    Part,
    Close,
}

/// Whether a line is `--boundary` or `--boundary--` (trailing blanks allowed).
fn delimiter(line: &[u8], dash_boundary: &[u8]) -> Option<Delimiter> {
    let blank = |rest: &[u8]| rest.iter().all(|&b| b == b' ' || b == b'\t');
    let rest = line.strip_prefix(dash_boundary)?;
    match rest.strip_prefix(b"--") {
        Some(after) => blank(after).then_some(Delimiter::Close),
        None => blank(rest).then_some(Delimiter::Part),
    }
}

/// `multipart/form-data` (RFC 7578), line by line so the cost stays linear
/// in the body: delimiters are whole lines, CRLF or bare LF line ends are
/// both read, the preamble and epilogue are ignored, and a body without
/// its closing delimiter is refused as cut short.
fn multipart(body: &[u8], boundary: &str) -> Result<Map<String, Value>, ApiError> {
    let dash_boundary = format!("--{boundary}");
    let mut fields = Fields::default();
    let mut part_start = None;
    let mut pos = 0;
    while pos < body.len() {
        let (line, next) = line_at(body, pos);
        if let Some(kind) = delimiter(line, dash_boundary.as_bytes()) {
            if let Some(start) = part_start {
                // The line break before a delimiter belongs to the delimiter.
                let mut end = pos;
                for b in [b'\n', b'\r'] {
                    if end > start && body[end - 1] == b {
                        end -= 1;
                    }
                }
                fields.reserve()?;
                part(&body[start..end], &mut fields)?;
            }
            if kind == Delimiter::Close {
                return Ok(fields.map);
            }
            part_start = Some(next);
        }
        pos = next;
    }
    Err(invalid(
        format!("the multipart body ends without its closing boundary {dash_boundary}--"),
        None,
    ))
}

/// One part: headers up to a blank line, then the value.
fn part(content: &[u8], fields: &mut Fields) -> Result<(), ApiError> {
    let mut disposition = None;
    let mut content_type = None;
    let mut pos = 0;
    while pos < content.len() {
        let (line, next) = line_at(content, pos);
        pos = next;
        if line.is_empty() {
            break;
        }
        let line = std::str::from_utf8(line)
            .map_err(|_| invalid("a multipart part's headers are not valid UTF-8".into(), None))?;
        let Some((name, value)) = line.split_once(':') else {
            return Err(invalid(
                "a multipart part has a header line without a colon".into(),
                None,
            ));
        };
        match name.trim().to_ascii_lowercase().as_str() {
            "content-disposition" => disposition = Some(media_type(value)),
            "content-type" => content_type = Some(media_type(value)),
            _ => {}
        }
    }
    let value = &content[pos.min(content.len())..];
    let Some((_, params)) = disposition.filter(|(kind, _)| kind == "form-data") else {
        return Err(invalid(
            "every multipart part needs Content-Disposition: form-data".into(),
            None,
        ));
    };
    let name = match param(&params, "name*") {
        Some(ext) => ext_value(ext)?,
        None => param(&params, "name")
            .map(str::to_string)
            .ok_or_else(|| invalid("a multipart part has no name".into(), None))?,
    };
    if param(&params, "filename").is_some() || param(&params, "filename*").is_some() {
        return Err(invalid(format!("`{name}`: files are not accepted"), Some(&name)));
    }
    if let Some((media, params)) = content_type {
        if media != "text/plain" {
            let shown: String = media.chars().take(100).collect();
            return Err(invalid(
                format!("`{name}`: only text fields are accepted, not {shown}"),
                Some(&name),
            ));
        }
        utf8_only(&params)?;
    }
    let value = utf8(value.to_vec(), || {
        (format!("`{name}` is not valid UTF-8"), Some(name.clone()))
    })?;
    fields.add(name, value)
}

/// An RFC 8187 extended value, `UTF-8'<language>'<percent-encoded>`.
fn ext_value(ext: &str) -> Result<String, ApiError> {
    let mut pieces = ext.splitn(3, '\'');
    let (charset, encoded) = match (pieces.next(), pieces.next(), pieces.next()) {
        (Some(charset), Some(_language), Some(encoded)) => (charset, encoded),
        _ => {
            return Err(invalid(
                "a multipart part's name* is not charset'language'value".into(),
                None,
            ))
        }
    };
    if !charset.eq_ignore_ascii_case("utf-8") {
        return Err(invalid("a multipart part's name* must be UTF-8".into(), None));
    }
    utf8(percent_decode(encoded.as_bytes(), false), || {
        ("a multipart part's name* is not valid UTF-8".into(), None)
    })
}

#[cfg(test)]
#[path = "form_tests.rs"]
mod tests;
