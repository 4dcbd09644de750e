//! The action schema: the catalog as data, the input checks against it and
//! the format validators. It depends on nothing else in the crate, so the
//! engine (definition and run-time checks), the executors (re-checks) and
//! the API (`GET /api/actions`, see `api::catalog`) can all use it.
//!
//! `endpoint` describes the embedded default executor: a PostgREST path for
//! the CRM writes (`/rest/v1/<table>`, written as the workflow owner),
//! `builtin:ai_score` for the built-in scoring rules, and `input:url` for
//! `webhook_call`, whose target is its own `url` input.

use crate::limits::{MAX_SUBJECT_CHARS, MAX_TITLE_CHARS};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::Value;

/// The JSON type an input must have once rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    String,
    Number,
    Boolean,
    Object,
    Array,
    Any,
}

/// Extra shape checks on string inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// One address, `local@domain.tld`, nothing that could add a recipient.
    Email,
    /// An absolute `http` or `https` URL.
    Url,
    /// One line of text: no CR or LF, so it is safe in a mail header.
    #[serde(rename = "single_line")]
    SingleLine,
}

/// One input of an action. Serializes as `{"type","required","description"}`
/// plus `format` / `enum` when set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct InputField {
    #[serde(rename = "type")]
    pub kind: FieldType,
    pub required: bool,
    pub description: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<Format>,
    /// Accepted values (case-insensitive); empty means any.
    #[serde(rename = "enum", skip_serializing_if = "<[_]>::is_empty")]
    pub allowed: &'static [&'static str],
    /// Values interpolated into this field by templates are HTML-escaped, so
    /// trigger data cannot inject markup. Escaped values never contain `<`,
    /// so any tag in the rendered text was written by the workflow's author.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub html: bool,
    /// Longest accepted string, in characters (the database's own cap).
    #[serde(rename = "maxLength", skip_serializing_if = "Option::is_none")]
    pub max_chars: Option<usize>,
}

const fn field(kind: FieldType, required: bool, description: &'static str) -> InputField {
    InputField {
        kind,
        required,
        description,
        format: None,
        allowed: &[],
        html: false,
        max_chars: None,
    }
}

/// `f`, accepting strings of at most `max` characters.
const fn at_most(max: usize, f: InputField) -> InputField {
    InputField {
        max_chars: Some(max),
        ..f
    }
}

const fn formatted(format: Format, required: bool, description: &'static str) -> InputField {
    InputField {
        format: Some(format),
        ..field(FieldType::String, required, description)
    }
}

/// One problem with an action's inputs; `field` is the input's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputIssue {
    pub field: Option<String>,
    pub message: String,
}

/// One catalog entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionSpec {
    pub id: &'static str,
    pub endpoint: &'static str,
    pub method: &'static str,
    /// Whether a configured HTTP endpoint receives the caller's (or owner's) token.
    pub requires_auth: bool,
    pub description: &'static str,
    /// Inputs in a stable order.
    pub input_schema: &'static [(&'static str, InputField)],
    /// At least one of these inputs must be present (serialized as `requiredOneOf`).
    pub required_one_of: &'static [&'static str],
}

impl Serialize for ActionSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Schema(&'static [(&'static str, InputField)]);
        impl Serialize for Schema {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut map = s.serialize_map(Some(self.0.len()))?;
                for (name, f) in self.0 {
                    map.serialize_entry(name, f)?;
                }
                map.end()
            }
        }
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("id", self.id)?;
        map.serialize_entry("endpoint", self.endpoint)?;
        map.serialize_entry("method", self.method)?;
        map.serialize_entry("requiresAuth", &self.requires_auth)?;
        map.serialize_entry("description", self.description)?;
        map.serialize_entry("inputSchema", &Schema(self.input_schema))?;
        if !self.required_one_of.is_empty() {
            map.serialize_entry("requiredOneOf", self.required_one_of)?;
        }
        map.end()
    }
}

use FieldType::{Any, Number, Object, String as Str};

static CATALOG: &[ActionSpec] = &[
    ActionSpec {
        id: "send_email",
        endpoint: "/rest/v1/email_outbox",
        method: "POST",
        requires_auth: true,
        description: "Send an email: queued in email_outbox, or sent through the configured email API.",
        input_schema: &[
            ("to", formatted(Format::Email, true, "Recipient address")),
            (
                "subject",
                at_most(
                    MAX_SUBJECT_CHARS,
                    formatted(Format::SingleLine, true, "Subject line"),
                ),
            ),
            (
                "body",
                InputField {
                    html: true,
                    ..field(
                        Str,
                        true,
                        "Text or HTML body; interpolated values are HTML-escaped",
                    )
                },
            ),
            (
                "from",
                formatted(
                    Format::Email,
                    false,
                    "Sender address (defaults to the configured sender)",
                ),
            ),
        ],
        required_one_of: &[],
    },
    ActionSpec {
        id: "ai_score",
        endpoint: "builtin:ai_score",
        method: "POST",
        requires_auth: true,
        description:
            "Score a lead 0-100 with grade and factors, by built-in rules or the configured scoring service.",
        input_schema: &[
            ("email", formatted(Format::Email, true, "Lead email address")),
            ("name", field(Str, false, "Lead full name")),
            ("company", field(Str, false, "Company name")),
            ("title", field(Str, false, "Job title")),
            ("source", field(Str, false, "Lead source, e.g. website, referral")),
            ("fields", field(Object, false, "Any further lead attributes")),
        ],
        required_one_of: &[],
    },
    ActionSpec {
        id: "create_deal",
        endpoint: "/rest/v1/deals",
        method: "POST",
        requires_auth: true,
        description: "Create a deal owned by the workflow owner.",
        input_schema: &[
            ("title", at_most(MAX_TITLE_CHARS, field(Str, true, "Deal title"))),
            ("value", field(Number, false, "Deal value")),
            ("stage", field(Str, false, "Pipeline stage")),
            ("contact_id", field(Str, false, "Related contact id")),
        ],
        required_one_of: &[],
    },
    ActionSpec {
        id: "update_contact",
        endpoint: "/rest/v1/contacts",
        method: "PATCH",
        requires_auth: true,
        description: "Update a contact by id, or create/update it by email.",
        input_schema: &[
            ("id", field(Str, false, "Contact id (this or email is required)")),
            (
                "email",
                formatted(Format::Email, false, "Contact email (this or id is required)"),
            ),
            (
                "name",
                at_most(MAX_TITLE_CHARS, field(Str, false, "Contact name")),
            ),
            (
                "company",
                at_most(MAX_TITLE_CHARS, field(Str, false, "Company name")),
            ),
            (
                "fields",
                field(Object, false, "Custom fields merged into the contact"),
            ),
        ],
        required_one_of: &["id", "email"],
    },
    ActionSpec {
        id: "send_notification",
        endpoint: "/rest/v1/notifications",
        method: "POST",
        requires_auth: true,
        description: "Post an in-app notification to the workflow owner.",
        input_schema: &[
            (
                "title",
                at_most(MAX_TITLE_CHARS, field(Str, true, "Notification title")),
            ),
            ("body", field(Str, false, "Notification text")),
        ],
        required_one_of: &[],
    },
    ActionSpec {
        id: "webhook_call",
        endpoint: "input:url",
        method: "POST",
        requires_auth: false,
        description: "Call an HTTP endpoint with a signed JSON request; output is {status, body}.",
        input_schema: &[
            ("url", formatted(Format::Url, true, "Target http(s) URL")),
            (
                "method",
                InputField {
                    allowed: &["GET", "POST", "PUT", "PATCH", "DELETE"],
                    ..field(Str, false, "HTTP method (default POST)")
                },
            ),
            ("headers", field(Object, false, "Extra request headers")),
            ("body", field(Any, false, "JSON request body")),
        ],
        required_one_of: &[],
    },
];

/// Every action, in catalog order.
pub fn catalog() -> &'static [ActionSpec] {
    CATALOG
}

/// The action with this id.
pub fn find(id: &str) -> Option<&'static ActionSpec> {
    CATALOG.iter().find(|spec| spec.id == id)
}

/// Checks rendered inputs: required fields present and non-empty, JSON
/// types, formats and allowed values. Issues carry the input name as `field`.
pub fn check_inputs(spec: &ActionSpec, rendered: &Value) -> Result<(), Vec<InputIssue>> {
    check(spec, rendered, None)
}

/// Definition-time check of a node's `data.config`: required inputs present
/// (a template counts as present); literal values are type- and
/// format-checked, string templates (as `is_template` tells them) are left
/// to [`check_inputs`] at run time.
pub fn check_config(
    spec: &ActionSpec,
    config: &Value,
    is_template: fn(&str) -> bool,
) -> Result<(), Vec<InputIssue>> {
    check(spec, config, Some(is_template))
}

fn check(
    spec: &ActionSpec,
    inputs: &Value,
    is_template: Option<fn(&str) -> bool>,
) -> Result<(), Vec<InputIssue>> {
    let Some(map) = inputs.as_object() else {
        return Err(vec![InputIssue {
            field: None,
            message: "inputs must be a JSON object".into(),
        }]);
    };
    let mut issues = Vec::new();
    let present = |name: &str| map.get(name).is_some_and(|v| !is_empty(v));
    for (name, f) in spec.input_schema {
        let value = map.get(*name).filter(|v| !v.is_null());
        match value {
            None if f.required => issues.push(issue(name, "is required")),
            Some(v) if f.required && is_empty(v) => issues.push(issue(name, "must not be empty")),
            // A blank optional field in the canvas means "not set".
            Some(v) if is_empty(v) => {}
            Some(Value::String(s)) if is_template.is_some_and(|t| t(s)) => {}
            Some(v) => {
                if let Err(message) = check_value(f, v) {
                    issues.push(issue(name, &message));
                }
            }
            None => {}
        }
    }
    if !spec.required_one_of.is_empty() && !spec.required_one_of.iter().any(|n| present(n)) {
        let names = spec.required_one_of.join(" or ");
        issues.push(issue(
            spec.required_one_of[0],
            &format!("one of {names} is required"),
        ));
    }
    if issues.is_empty() {
        Ok(())
    } else {
        Err(issues)
    }
}

fn issue(name: &str, message: &str) -> InputIssue {
    InputIssue {
        field: Some(name.to_string()),
        message: format!("input {name:?} {message}"),
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

fn check_value(f: &InputField, v: &Value) -> Result<(), String> {
    let type_ok = match f.kind {
        FieldType::String => v.is_string(),
        FieldType::Number => v.is_number(),
        FieldType::Boolean => v.is_boolean(),
        FieldType::Object => v.is_object(),
        FieldType::Array => v.is_array(),
        FieldType::Any => true,
    };
    if !type_ok {
        return Err(format!(
            "must be of type {}",
            serde_json::to_string(&f.kind).unwrap_or_default()
        ));
    }
    let Some(s) = v.as_str() else { return Ok(()) };
    match f.format {
        Some(Format::Email) if !is_email(s) => return Err("must be a single valid email address".into()),
        Some(Format::Url) if !is_http_url(s) => return Err("must be an absolute http(s) URL".into()),
        Some(Format::SingleLine) if s.contains(['\r', '\n']) => {
            return Err("must be a single line (no CR or LF)".into())
        }
        _ => {}
    }
    if let Some(max) = f.max_chars {
        let chars = s.chars().count();
        if chars > max {
            return Err(format!("must be at most {max} characters, got {chars}"));
        }
    }
    if !f.allowed.is_empty() && !f.allowed.iter().any(|a| a.eq_ignore_ascii_case(s)) {
        return Err(format!("must be one of {}", f.allowed.join(", ")));
    }
    Ok(())
}

/// A deliberately strict single-address check: no spaces, control
/// characters, separators or display names that could smuggle in a second
/// recipient or a header.
pub fn is_email(s: &str) -> bool {
    if s.len() > 254
        || s.chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>,;:\"()[]\\".contains(c))
    {
        return false;
    }
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && !domain.contains('@')
        && domain.contains('.')
        && domain
            .split('.')
            .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'))
}

/// An absolute `http://` or `https://` URL with a host and no whitespace.
pub fn is_http_url(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    let Some(rest) = rest else { return false };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    !authority.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
#[path = "schema_tests.rs"]
mod tests;
