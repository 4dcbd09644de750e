//! `GET /openapi.json`: the OpenAPI 3 description of every route in
//! `router::TABLE` (a test keeps the two in sync).
//!
//! The document is `openapi.json` next to this file, embedded as text and
//! parsed when asked for: built with `json!` it was about 90 KB of wasm
//! code, as text it is a few KB gzipped. The two values that come from the
//! code, the package version and the name limit, are set on the parsed
//! document, and a test requires the file to hold them already.

use serde_json::Value;

use crate::limits::MAX_NAME_CHARS;

const TEXT: &str = include_str!("openapi.json");

/// The document.
pub fn document() -> Value {
    let mut doc: Value = serde_json::from_str(TEXT).expect("openapi.json is JSON");
    doc["info"]["version"] = env!("CARGO_PKG_VERSION").into();
    doc["paths"]["/api/templates/{id}/instantiate"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"]["properties"]["name"]["maxLength"] = MAX_NAME_CHARS.into();
    doc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::router::TABLE;

    #[test]
    fn the_file_holds_the_values_from_the_code() {
        // Setting them changes nothing: the file is the document served.
        let file: Value = serde_json::from_str(TEXT).unwrap();
        assert_eq!(document(), file);
        assert_eq!(file["info"]["version"], env!("CARGO_PKG_VERSION"));
        let name = &file["paths"]["/api/templates/{id}/instantiate"]["post"]["requestBody"]["content"]
            ["application/json"]["schema"]["properties"]["name"];
        assert_eq!(name["maxLength"], MAX_NAME_CHARS);
        assert_eq!(file["openapi"], "3.0.3");
    }

    #[test]
    fn every_route_is_documented_and_nothing_else() {
        let doc = document();
        let paths = doc["paths"].as_object().unwrap();
        assert_eq!(paths.len(), TABLE.len());
        for (path, methods, auth) in TABLE {
            let item = paths.get(*path).unwrap_or_else(|| panic!("{path} undocumented"));
            assert_eq!(item.as_object().unwrap().len(), methods.len(), "{path}");
            for m in *methods {
                let op = &item[m.to_lowercase()];
                assert!(op.is_object(), "{m} {path} undocumented");
                assert_eq!(op.get("security").is_some(), *auth, "{m} {path} security");
            }
        }
    }
}
