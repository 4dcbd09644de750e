//! `ai_score`: lead scoring, by the configured service or by built-in rules.
//!
//! With `AI_SCORE_URL` set, the inputs `{email, name, company, title,
//! source, fields}` are POSTed there as JSON with the owner's token (the
//! DataPizza `/api/datapizza/score-lead` shape); the answer must hold
//! `score` (0-100, at the top level or under `data`), and may hold `grade`
//! and `factors`. Without it, these deterministic rules apply (model
//! `builtin-rules-v1`; the same input always gives the same output):
//!
//! | rule | points |
//! |---|---|
//! | base | +20 |
//! | email domain: a company domain / a free provider (gmail.com, yahoo.*, hotmail.*, outlook.com, live.com, icloud.com, aol.com, proton.me, gmx.*, ...) | +20 / -5 |
//! | `name` present | +5 |
//! | `company` present | +15 |
//! | `title` senior (ceo cto cfo coo cmo chief founder owner president vp director head partner) / mid (manager lead principal) | +20 / +10 |
//! | `source` referral / demo_request, website, form, inbound / event, webinar, conference / ads, paid, ppc / cold, outbound | +15 / +10 / +8 / +5 / 0 |
//! | `fields.company_size` or `fields.employees` >= 1000 / >= 200 / >= 50 | +15 / +10 / +5 |
//! | `fields.budget` > 0 | +10 |
//!
//! The sum is clamped to 0..=100. Grade: A >= 80, B >= 60, C >= 40, else D.
//! Output: `{score, grade, factors: [{factor, points, detail}], model}`.

use super::outcome::{fatal, opt_str, opt_value};
use crate::engine::ActionError;
use serde_json::{json, Map, Value};

/// Name of the built-in rule set, reported as `model`.
pub const MODEL: &str = "builtin-rules-v1";

const FREE_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "live.com",
    "msn.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "pm.me",
    "mail.com",
    "zoho.com",
    "yandex.com",
    "yandex.ru",
    "qq.com",
    "163.com",
    "web.de",
    "t-online.de",
    "libero.it",
];
/// Providers with a domain per country (`yahoo.co.uk`, `gmx.de`, ...).
const FREE_FAMILIES: &[&str] = &["yahoo", "hotmail", "gmx", "ymail"];

const SENIOR: &[&str] = &[
    "ceo",
    "cto",
    "cfo",
    "coo",
    "cmo",
    "cro",
    "chief",
    "founder",
    "cofounder",
    "owner",
    "president",
    "vp",
    "director",
    "head",
    "partner",
];
const MID: &[&str] = &["manager", "lead", "principal"];

struct Factors(Vec<Value>, i64);

impl Factors {
    fn add(&mut self, factor: &str, points: i64, detail: String) {
        self.1 += points;
        self.0
            .push(json!({ "factor": factor, "points": points, "detail": detail }));
    }
}

/// The built-in score for a lead (see the module table).
pub fn builtin(inputs: &Value) -> Value {
    let mut f = Factors(Vec::new(), 0);
    f.add("base", 20, "every lead starts at 20".into());
    if let Some(email) = opt_str(inputs, "email") {
        let domain = email.rsplit_once('@').map_or("", |(_, d)| d).to_ascii_lowercase();
        if is_free_domain(&domain) {
            f.add("email_domain", -5, format!("{domain} is a free email provider"));
        } else if !domain.is_empty() {
            f.add(
                "email_domain",
                20,
                format!("{domain} looks like a company domain"),
            );
        }
    }
    if opt_str(inputs, "name").is_some() {
        f.add("name", 5, "name given".into());
    }
    if let Some(company) = opt_str(inputs, "company") {
        f.add("company", 15, format!("company given ({company})"));
    }
    if let Some(title) = opt_str(inputs, "title") {
        let words = title_words(title);
        if let Some(w) = words.iter().find(|w| SENIOR.contains(&w.as_str())) {
            f.add("title", 20, format!("senior title ({w})"));
        } else if let Some(w) = words.iter().find(|w| MID.contains(&w.as_str())) {
            f.add("title", 10, format!("management title ({w})"));
        }
    }
    if let Some(source) = opt_str(inputs, "source") {
        let key = source.to_ascii_lowercase().replace([' ', '-'], "_");
        let points = match key.as_str() {
            "referral" => Some(15),
            "demo_request" | "demo" | "website" | "form" | "web_form" | "inbound" => Some(10),
            "event" | "webinar" | "conference" | "trade_show" => Some(8),
            "ads" | "ad" | "paid" | "ppc" | "paid_ads" => Some(5),
            "cold" | "outbound" | "cold_outreach" => Some(0),
            _ => None,
        };
        if let Some(points) = points {
            f.add("source", points, format!("source {key}"));
        }
    }
    let fields = opt_value(inputs, "fields").and_then(Value::as_object);
    if let Some(size) = fields.and_then(|m| number(m, "company_size").or_else(|| number(m, "employees"))) {
        let points = match size {
            s if s >= 1000.0 => 15,
            s if s >= 200.0 => 10,
            s if s >= 50.0 => 5,
            _ => 0,
        };
        if points > 0 {
            f.add("company_size", points, format!("{size} employees"));
        }
    }
    if let Some(budget) = fields.and_then(|m| number(m, "budget")).filter(|b| *b > 0.0) {
        f.add("budget", 10, format!("budget {budget}"));
    }
    let score = f.1.clamp(0, 100);
    json!({ "score": score, "grade": grade(score as f64), "factors": f.0, "model": MODEL })
}

/// A = 80+, B = 60+, C = 40+, D below.
pub fn grade(score: f64) -> &'static str {
    match score {
        s if s >= 80.0 => "A",
        s if s >= 60.0 => "B",
        s if s >= 40.0 => "C",
        _ => "D",
    }
}

fn is_free_domain(domain: &str) -> bool {
    let first = domain.split('.').next().unwrap_or("");
    FREE_DOMAINS.contains(&domain) || FREE_FAMILIES.contains(&first)
}

/// `VP, Sales` -> [vp, sales]; `Co-Founder` -> [co, founder].
fn title_words(title: &str) -> Vec<String> {
    title
        .to_ascii_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// A number, or a string starting with one (`"200-500"` -> 200).
fn number(map: &Map<String, Value>, name: &str) -> Option<f64> {
    match map.get(name)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => {
            let digits: String = s
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            digits.parse().ok()
        }
        _ => None,
    }
}

/// The request body for the scoring service: the contract's inputs only.
pub fn service_body(inputs: &Value) -> Value {
    let mut body = Map::new();
    for name in ["email", "name", "company", "title", "source", "fields"] {
        if let Some(v) = opt_value(inputs, name) {
            body.insert(name.to_string(), v.clone());
        }
    }
    Value::Object(body)
}

/// Reads the service's answer into the same shape as the built-in output:
/// `score` checked to be 0-100, `grade` derived when missing, `factors`
/// defaulting to `[]`; other members are kept.
pub fn parse_service(answer: &Value) -> Result<Value, ActionError> {
    let obj = match answer.get("score") {
        Some(_) => answer,
        None => ["data", "result"]
            .iter()
            .find_map(|k| answer.get(*k).filter(|v| v.get("score").is_some()))
            .unwrap_or(answer),
    };
    let Some(mut out) = obj.as_object().cloned() else {
        return Err(fatal(
            "the scoring service answered something other than a JSON object",
        ));
    };
    let score = out
        .get("score")
        .and_then(Value::as_f64)
        .ok_or_else(|| fatal("the scoring service answer has no numeric score"))?;
    if !(0.0..=100.0).contains(&score) {
        return Err(fatal(format!(
            "the scoring service answered score {score}, outside 0-100"
        )));
    }
    if !out.get("grade").is_some_and(Value::is_string) {
        out.insert("grade".into(), Value::String(grade(score).into()));
    }
    if !out.get("factors").is_some_and(Value::is_array) {
        out.insert("factors".into(), json!([]));
    }
    out.entry("model")
        .or_insert_with(|| Value::String("service".into()));
    Ok(Value::Object(out))
}
