//! The template library and the node-type catalog through `api::handle`
//! with a scripted PostgREST: public listing, instantiation as the caller
//! (an inactive workflow, through the same insert as `POST /api/workflows`),
//! the contract's errors; and the templates themselves: each passes full
//! validation, and together they use every action, trigger and node type.

mod api_support;

use api_support::*;
use edgeflow::api::node_types::node_types;
use edgeflow::api::templates;
use edgeflow::api::ApiRequest;
use edgeflow::engine::{validate, Limits, TriggerType};
use edgeflow::schema::catalog;
use serde_json::{json, Value};
use std::collections::BTreeSet;

const WF: &str = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
const ORIGIN: &str = "http://localhost:3000";

fn anonymous(method: &str, path: &str, query: &[(&str, &str)]) -> ApiRequest {
    ApiRequest {
        method: method.into(),
        path: path.into(),
        query: query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        headers: vec![("origin".into(), ORIGIN.into())],
        body: vec![],
    }
}

fn app() -> App {
    App::with(&[("ALLOWED_ORIGINS", ORIGIN)])
}

fn granted(resp: &edgeflow::api::ApiResponse) -> bool {
    resp.headers
        .iter()
        .any(|(k, v)| *k == "Access-Control-Allow-Origin" && v == ORIGIN)
}

#[test]
fn the_library_is_public_and_served_without_the_database() {
    let app = app();
    let resp = app.send(anonymous("GET", "/api/templates", &[]));
    assert_eq!(resp.status, 200, "{:?}", resp.body);
    assert!(granted(&resp));
    let body = resp.body.unwrap();
    let list = body["templates"].as_array().unwrap();
    assert!(list.len() >= 8, "{} templates", list.len());
    assert_eq!(list.len(), templates::all().len());
    for t in list {
        for field in templates::FIELDS {
            assert!(!t[field].is_null(), "{} lacks {field}", t["id"]);
        }
    }
    let categories: Vec<&str> = body["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(categories.contains(&"marketing"), "{categories:?}");
    assert!(app.p.requests.borrow().is_empty());
}

#[test]
fn the_category_filter_lists_only_that_category() {
    let app = app();
    let resp = app.send(anonymous("GET", "/api/templates", &[("category", "marketing")]));
    let body = resp.body.unwrap();
    let list = body["templates"].as_array().unwrap();
    assert!(list.len() >= 2);
    assert!(list.iter().all(|t| t["category"] == "marketing"));
    assert!(list.len() < templates::all().len());
    let resp = app.send(anonymous("GET", "/api/templates", &[("category", "no-such")]));
    assert_eq!(resp.body.unwrap()["templates"], json!([]));
}

#[test]
fn one_template_is_served_by_id_and_an_unknown_id_is_404() {
    let app = app();
    let resp = app.send(anonymous("GET", "/api/templates/welcome-sequence", &[]));
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body.unwrap()["template"]["id"], "welcome-sequence");
    let resp = app.send(anonymous("GET", "/api/templates/no-such-template", &[]));
    assert_eq!(error_code(&resp, 404), "not_found");
    assert!(granted(&resp));
}

#[test]
fn instantiating_inserts_an_inactive_copy_as_the_caller() {
    let app = app();
    let template = templates::find("lead-intake-scoring").unwrap();
    app.db("POST", "workflows", 201, json!([workflow_row(WF)]));
    let resp = app.call("POST", "/api/templates/lead-intake-scoring/instantiate", None);
    assert_eq!(resp.status, 201, "{:?}", resp.body);
    assert_eq!(resp.body.unwrap()["workflow"]["id"], WF);
    let row = app.only_sent_as_caller("POST", "workflows");
    assert_eq!(row["user_id"], USER);
    assert_eq!(row["is_active"], false);
    assert_eq!(row["name"], template["name"]);
    assert_eq!(row["description"], template["description"]);
    assert_eq!(row["nodes"], template["nodes"]);
    assert_eq!(row["edges"], template["edges"]);
    assert!(app.script_used_up());
}

#[test]
fn the_body_may_rename_the_copy() {
    let app = app();
    app.db("POST", "workflows", 201, json!([workflow_row(WF)]));
    let resp = app.call(
        "POST",
        "/api/templates/welcome-sequence/instantiate",
        Some(json!({"name": "  My welcome  ", "description": "for the spring launch"})),
    );
    assert_eq!(resp.status, 201, "{:?}", resp.body);
    let row = app.only_sent_as_caller("POST", "workflows");
    assert_eq!(row["name"], "My welcome");
    assert_eq!(row["description"], "for the spring launch");
    assert_eq!(row["is_active"], false);
}

#[test]
fn a_bad_body_is_400_and_nothing_is_inserted() {
    let app = app();
    let path = "/api/templates/welcome-sequence/instantiate";
    for (body, field) in [
        (json!({"name": 5}), "name"),
        (json!({"name": "   "}), "name"),
        (json!({"name": "x".repeat(201)}), "name"),
        (json!({"is_active": true}), "is_active"),
        (json!({"nodes": []}), "nodes"),
    ] {
        let resp = app.call("POST", path, Some(body.clone()));
        assert_eq!(error_code(&resp, 400), "invalid_request", "{body}");
        assert_eq!(resp.body.unwrap()["details"]["field"], field, "{body}");
    }
    let resp = app.call("POST", path, Some(json!(["not", "an", "object"])));
    assert_eq!(error_code(&resp, 400), "invalid_request");
    let mut req = anonymous("POST", path, &[]);
    req.headers
        .push(("authorization".into(), format!("Bearer {}", app.token())));
    req.body = b"{not json".to_vec();
    assert_eq!(error_code(&app.send(req), 400), "invalid_json");
    assert!(app.p.requests.borrow().is_empty());
}

#[test]
fn an_unknown_template_is_404_and_no_token_is_401_before_the_database() {
    let app = app();
    let resp = app.call("POST", "/api/templates/no-such/instantiate", None);
    assert_eq!(error_code(&resp, 404), "not_found");
    let resp = app.send(anonymous(
        "POST",
        "/api/templates/welcome-sequence/instantiate",
        &[],
    ));
    assert_eq!(error_code(&resp, 401), "unauthorized");
    assert!(granted(&resp));
    assert!(app.p.requests.borrow().is_empty());
}

#[test]
fn a_refused_insert_is_the_contracts_error() {
    let app = app();
    app.db(
        "POST",
        "workflows",
        403,
        json!({"code": "42501", "message": "new row violates row-level security policy"}),
    );
    let resp = app.call("POST", "/api/templates/welcome-sequence/instantiate", None);
    assert_eq!(error_code(&resp, 403), "forbidden");
}

#[test]
fn every_template_passes_full_validation() {
    let failures: Vec<String> = templates::all()
        .iter()
        .filter_map(|t| {
            validate(&t["nodes"], &t["edges"], &Limits::default())
                .err()
                .map(|issues| format!("{}: {issues:#?}", t["id"]))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The node-type catalog as served, by type.
fn served_node_types() -> Vec<Value> {
    let resp = app().send(anonymous("GET", "/api/node-types", &[]));
    assert_eq!(resp.status, 200);
    assert!(granted(&resp));
    resp.body.unwrap()["nodeTypes"].as_array().unwrap().clone()
}

#[test]
fn the_node_type_catalog_is_public_and_lists_every_type() {
    let types = served_node_types();
    let names: Vec<&str> = types.iter().map(|t| t["type"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["trigger", "action", "condition", "delay", "loop", "split"]
    );
    let trigger = &types[0]["data"]["properties"]["triggerType"]["enum"];
    assert_eq!(trigger, &json!(TriggerType::NAMES));
    let actions = &types[1]["data"]["properties"]["actionId"]["enum"];
    let ids: Vec<&str> = catalog().iter().map(|a| a.id).collect();
    assert_eq!(actions, &json!(ids));
    assert_eq!(types[2]["edges"]["outgoing"]["enum"], json!(["true", "false"]));
    assert_eq!(types[5]["edges"]["outgoing"]["sourceHandle"], "required");
}

#[test]
fn every_template_node_is_written_as_its_node_type_describes() {
    let types = node_types();
    for t in templates::all() {
        let id = &t["id"];
        for node in t["nodes"].as_array().unwrap() {
            let kind = node["type"].as_str().unwrap();
            let spec = types
                .iter()
                .find(|s| s["type"] == kind)
                .unwrap_or_else(|| panic!("{id}: unknown type {kind}"));
            assert!(node["position"]["x"].is_number() && node["position"]["y"].is_number());
            let data = node["data"].as_object().unwrap();
            assert!(
                data["label"].as_str().is_some_and(|l| !l.is_empty()),
                "{id}: {node}"
            );
            let schema = &spec["data"]["properties"];
            for key in data.keys() {
                assert!(!schema[key].is_null(), "{id}: {kind} node has data.{key}");
            }
            for required in spec["data"]["required"].as_array().unwrap() {
                assert!(data.contains_key(required.as_str().unwrap()), "{id}: {node}");
            }
        }
    }
}

#[test]
fn together_the_templates_use_every_action_trigger_and_node_type() {
    let mut actions = BTreeSet::new();
    let mut triggers = BTreeSet::new();
    let mut kinds = BTreeSet::new();
    let mut body_nodes = 0;
    for t in templates::all() {
        for node in t["nodes"].as_array().unwrap() {
            kinds.insert(node["type"].as_str().unwrap().to_string());
            if let Some(a) = node["data"]["actionId"].as_str() {
                actions.insert(a.to_string());
            }
            if let Some(tt) = node["data"]["triggerType"].as_str() {
                triggers.insert(tt.to_string());
            }
            if node["parentId"].is_string() {
                body_nodes += 1;
                assert!(node["data"].to_string().contains("{{loop.item"), "{node}");
            }
        }
    }
    let all_actions: BTreeSet<String> = catalog().iter().map(|a| a.id.to_string()).collect();
    assert_eq!(actions, all_actions);
    let all_triggers: BTreeSet<String> = TriggerType::NAMES.iter().map(|s| s.to_string()).collect();
    assert_eq!(triggers, all_triggers);
    let all_kinds: BTreeSet<String> = node_types()
        .iter()
        .map(|t| t["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, all_kinds);
    assert!(body_nodes >= 2);
}
