//! Request body and query parsing at the boundary: size limit, JSON syntax,
//! and typed field access that names the offending field.

use serde_json::{Map, Value};

use super::ApiRequest;
use crate::error::ApiError;
use crate::limits::{json_depth, DEFAULT_PAGE, MAX_BODY_BYTES, MAX_JSON_DEPTH, MAX_OFFSET, MAX_PAGE};

/// The body as a JSON object. An empty body counts as `{}` when `allow_empty`.
pub fn json_object(req: &ApiRequest, allow_empty: bool) -> Result<Map<String, Value>, ApiError> {
    let declared = req
        .header("content-length")
        .and_then(|v| v.trim().parse::<usize>().ok());
    if declared.unwrap_or(0) > MAX_BODY_BYTES || req.body.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        });
    }
    object_from_slice(&req.body, allow_empty)
}

/// `bytes` as a JSON object whose members nest at most `MAX_JSON_DEPTH`
/// levels. Blank counts as `{}` when `allow_empty`. The size is the caller's
/// to check.
pub fn object_from_slice(bytes: &[u8], allow_empty: bool) -> Result<Map<String, Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return if allow_empty {
            Ok(Map::new())
        } else {
            Err(ApiError::InvalidJson(
                "the body is empty; a JSON object is required".into(),
            ))
        };
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|e| ApiError::InvalidJson(e.to_string()))?;
    match value {
        Value::Object(map) => {
            if let Some((name, _)) = map.iter().find(|(_, v)| json_depth(v) > MAX_JSON_DEPTH) {
                return Err(ApiError::invalid_field(
                    name,
                    format!("`{name}` nests deeper than {MAX_JSON_DEPTH} levels of arrays and objects"),
                ));
            }
            Ok(map)
        }
        other => Err(ApiError::InvalidRequest {
            message: format!("the body must be a JSON object, not {}", type_name(&other)),
            field: None,
        }),
    }
}

/// JSON type name for messages.
pub use crate::engine::condition::kind as type_name;

/// An optional string field.
pub fn opt_string(map: &Map<String, Value>, field: &str) -> Result<Option<String>, ApiError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(ApiError::invalid_field(
            field,
            format!("`{field}` must be a string, not {}", type_name(other)),
        )),
    }
}

/// An optional boolean field.
pub fn opt_bool(map: &Map<String, Value>, field: &str) -> Result<Option<bool>, ApiError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(ApiError::invalid_field(
            field,
            format!("`{field}` must be a boolean, not {}", type_name(other)),
        )),
    }
}

/// An optional array field.
pub fn opt_array<'a>(map: &'a Map<String, Value>, field: &str) -> Result<Option<&'a Value>, ApiError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v @ Value::Array(_)) => Ok(Some(v)),
        Some(other) => Err(ApiError::invalid_field(
            field,
            format!("`{field}` must be an array, not {}", type_name(other)),
        )),
    }
}

/// `limit` and `offset` query parameters with a default and a maximum.
pub fn pagination(req: &ApiRequest) -> Result<(usize, usize), ApiError> {
    let parse = |name: &str, default: usize| -> Result<usize, ApiError> {
        match req.query_param(name) {
            None | Some("") => Ok(default),
            Some(raw) => raw.parse::<usize>().map_err(|_| {
                ApiError::invalid_field(name, format!("`{name}` must be a non-negative integer"))
            }),
        }
    };
    let limit = parse("limit", DEFAULT_PAGE)?;
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::invalid_field(
            "limit",
            format!("`limit` must be between 1 and {MAX_PAGE}"),
        ));
    }
    let offset = parse("offset", 0)?;
    if offset > MAX_OFFSET {
        return Err(ApiError::invalid_field(
            "offset",
            format!("`offset` must be at most {MAX_OFFSET}"),
        ));
    }
    Ok((limit, offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(body: &str) -> ApiRequest {
        ApiRequest {
            body: body.as_bytes().to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn body_errors_are_specific() {
        assert_eq!(json_object(&req("{"), false).unwrap_err().code(), "invalid_json");
        assert_eq!(json_object(&req(""), false).unwrap_err().code(), "invalid_json");
        assert!(json_object(&req(" "), true).unwrap().is_empty());
        assert_eq!(
            json_object(&req("[1]"), false).unwrap_err().code(),
            "invalid_request"
        );
        let big = format!("{{\"a\":\"{}\"}}", "x".repeat(MAX_BODY_BYTES));
        assert_eq!(json_object(&req(&big), false).unwrap_err().status(), 413);
        let mut declared = req("{}");
        declared
            .headers
            .push(("content-length".into(), (MAX_BODY_BYTES + 1).to_string()));
        assert_eq!(json_object(&declared, false).unwrap_err().status(), 413);
    }

    #[test]
    fn a_member_nested_too_deeply_is_refused_by_name() {
        let nest = |depth: usize| format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
        let ok = format!(r#"{{"triggerData": {}}}"#, nest(MAX_JSON_DEPTH));
        assert!(json_object(&req(&ok), false).is_ok());
        let deep = format!(r#"{{"name": "x", "triggerData": {}}}"#, nest(MAX_JSON_DEPTH + 1));
        let err = json_object(&req(&deep), false).unwrap_err();
        assert_eq!(err.status(), 400);
        assert_eq!(err.details().unwrap()["field"], "triggerData");
    }

    #[test]
    fn fields_name_themselves() {
        let map = json_object(&req(r#"{"name": 5, "is_active": "yes", "nodes": {}}"#), false).unwrap();
        let err = opt_string(&map, "name").unwrap_err();
        assert_eq!(err.details().unwrap()["field"], "name");
        assert!(opt_bool(&map, "is_active").is_err());
        assert!(opt_array(&map, "nodes").is_err());
        assert_eq!(opt_string(&map, "missing").unwrap(), None);
    }

    #[test]
    fn pagination_bounds() {
        let mut r = req("");
        assert_eq!(pagination(&r).unwrap(), (50, 0));
        r.query = vec![("limit".into(), "200".into()), ("offset".into(), "10".into())];
        assert_eq!(pagination(&r).unwrap(), (200, 10));
        for bad in ["0", "201", "-1", "x"] {
            r.query = vec![("limit".into(), bad.into())];
            assert_eq!(pagination(&r).unwrap_err().status(), 400, "{bad}");
        }
    }
}
