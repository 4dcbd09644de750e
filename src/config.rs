//! Worker configuration, parsed once per request from the environment into a
//! typed struct. Pure: the platform layer passes a lookup function.

use std::fmt;

use crate::limits::{
    DEFAULT_LEASE_MS, DEFAULT_MAX_RECOVERIES, DEFAULT_RETENTION_DAYS, DEFAULT_SUBREQUEST_BUDGET,
    DEFAULT_WALL_BUDGET_MS,
};

/// An optional whole number within `min..=max`, else `default`.
fn number(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(raw) => match raw.parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(ConfigError {
                variable: name,
                problem: format!("must be a whole number from {min} to {max}, not {raw:?}"),
            }),
        },
    }
}

/// Every variable the worker reads, with its meaning. The README's
/// configuration table mirrors this list.
pub const VARIABLES: &[(&str, &str)] = &[
    (
        "SUPABASE_URL",
        "project URL; PostgREST at /rest/v1, JWKS at /auth/v1/.well-known/jwks.json",
    ),
    ("SUPABASE_ANON_KEY", "sent as `apikey` on every PostgREST call"),
    ("SUPABASE_JWT_SECRET", "optional legacy HS256 secret"),
    (
        "SUPABASE_SERVICE_ROLE_KEY",
        "secret; only for work with no user present",
    ),
    ("JWT_ISSUER", "expected `iss`; default $SUPABASE_URL/auth/v1"),
    ("JWT_AUDIENCE", "expected `aud`; default authenticated"),
    ("ALLOWED_ORIGINS", "CORS allow-list, comma separated"),
    (
        "ALLOW_PRIVATE_TARGETS",
        "true lets webhook_call reach private addresses",
    ),
    ("EMAIL_API_URL", "optional email HTTP API for send_email"),
    ("EMAIL_API_KEY", "secret for EMAIL_API_URL"),
    ("EMAIL_FROM", "default sender for the email HTTP API"),
    ("AI_SCORE_URL", "optional lead-scoring service for ai_score"),
    (
        "RUN_SUBREQUEST_BUDGET",
        "outbound calls per invocation before a run yields to the queue",
    ),
    (
        "RUN_WALL_BUDGET_MS",
        "wall time per invocation before a run yields to the queue",
    ),
    (
        "RUN_LEASE_MS",
        "how long an invocation owns a run without a sign of life",
    ),
    ("RUN_MAX_RECOVERIES", "recoveries of one run before it is failed"),
    (
        "RUN_JOURNAL",
        "off runs without the step journal, for measurements only",
    ),
    (
        "EXECUTION_RETENTION_DAYS",
        "finished runs older than this many days are pruned (0 keeps all)",
    ),
    (
        "CRM_API_URL",
        "optional CRM endpoint for create_deal, update_contact, send_notification",
    ),
];

/// A problem with the configuration; names the variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "configuration variable {} {}", self.variable, self.problem)
    }
}

/// A secret string whose `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The raw value, for the one place that must send or use it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The typed configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Project URL without a trailing slash.
    pub supabase_url: String,
    pub anon_key: Secret,
    pub jwt_secret: Option<Secret>,
    pub service_role_key: Option<Secret>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub allowed_origins: Vec<String>,
    pub allow_private_targets: bool,
    pub email_api_url: Option<String>,
    pub email_api_key: Option<Secret>,
    pub ai_score_url: Option<String>,
    pub email_from: Option<String>,
    pub crm_api_url: Option<String>,
    /// How runs are split across invocations and recovered.
    pub runs: RunSettings,
    /// Finished runs older than this many days are pruned by the scheduled
    /// handler (`EXECUTION_RETENTION_DAYS`); 0 keeps every run.
    pub retention_days: u64,
}

/// Budgets and leases of durable runs (see the README's execution guarantees).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunSettings {
    /// Outbound calls one invocation may make for a run before it yields
    /// and continues through the `RUNS` queue (`RUN_SUBREQUEST_BUDGET`).
    pub subrequest_budget: u32,
    /// Wall time one invocation works on a run before it yields (`RUN_WALL_BUDGET_MS`).
    pub wall_budget_ms: u64,
    /// How long an invocation owns a run without a sign of life (`RUN_LEASE_MS`).
    pub lease_ms: u64,
    /// How often the scheduled recovery resumes one run before it gives up
    /// and fails it (`RUN_MAX_RECOVERIES`).
    pub max_recoveries: u32,
    /// `RUN_JOURNAL=off` runs without the step journal (no resume, no
    /// progress while running): for measuring the journal's cost only.
    pub journal: bool,
}

impl Config {
    /// Parses the configuration from a variable lookup (`None` = unset).
    /// Empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let required = |name: &'static str| {
            get(name).ok_or(ConfigError {
                variable: name,
                problem: "is not set".into(),
            })
        };
        let supabase_url = required("SUPABASE_URL")?.trim_end_matches('/').to_string();
        if !(supabase_url.starts_with("http://") || supabase_url.starts_with("https://")) {
            return Err(ConfigError {
                variable: "SUPABASE_URL",
                problem: "must be an http(s) URL".into(),
            });
        }
        let anon_key = Secret::new(required("SUPABASE_ANON_KEY")?);
        let allow_private_targets = match get("ALLOW_PRIVATE_TARGETS").as_deref() {
            None | Some("false") | Some("0") => false,
            Some("true") | Some("1") => true,
            Some(other) => {
                return Err(ConfigError {
                    variable: "ALLOW_PRIVATE_TARGETS",
                    problem: format!("must be true or false, not {other:?}"),
                })
            }
        };
        let optional_url = |name: &'static str| -> Result<Option<String>, ConfigError> {
            match get(name) {
                Some(u) if u.starts_with("http://") || u.starts_with("https://") => Ok(Some(u)),
                Some(_) => Err(ConfigError {
                    variable: name,
                    problem: "must be an http(s) URL".into(),
                }),
                None => Ok(None),
            }
        };
        Ok(Config {
            jwt_issuer: get("JWT_ISSUER").unwrap_or_else(|| format!("{supabase_url}/auth/v1")),
            jwt_audience: get("JWT_AUDIENCE").unwrap_or_else(|| "authenticated".into()),
            anon_key,
            jwt_secret: get("SUPABASE_JWT_SECRET").map(Secret::new),
            service_role_key: get("SUPABASE_SERVICE_ROLE_KEY").map(Secret::new),
            allowed_origins: get("ALLOWED_ORIGINS")
                .map(|v| {
                    v.split(',')
                        .map(|o| o.trim().trim_end_matches('/').to_string())
                        .filter(|o| !o.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            allow_private_targets,
            email_api_url: optional_url("EMAIL_API_URL")?,
            email_api_key: get("EMAIL_API_KEY").map(Secret::new),
            ai_score_url: optional_url("AI_SCORE_URL")?,
            crm_api_url: optional_url("CRM_API_URL")?,
            email_from: match get("EMAIL_FROM") {
                Some(from) if !crate::schema::is_email(&from) => {
                    return Err(ConfigError {
                        variable: "EMAIL_FROM",
                        problem: "must be one plain address (no display name), e.g. no-reply@example.com"
                            .into(),
                    })
                }
                other => other,
            },
            runs: RunSettings {
                subrequest_budget: number(
                    &get,
                    "RUN_SUBREQUEST_BUDGET",
                    DEFAULT_SUBREQUEST_BUDGET,
                    8,
                    10_000,
                )? as u32,
                wall_budget_ms: number(&get, "RUN_WALL_BUDGET_MS", DEFAULT_WALL_BUDGET_MS, 1000, 900_000)?,
                lease_ms: number(&get, "RUN_LEASE_MS", DEFAULT_LEASE_MS, 1000, 3_600_000)?,
                max_recoveries: number(
                    &get,
                    "RUN_MAX_RECOVERIES",
                    u64::from(DEFAULT_MAX_RECOVERIES),
                    0,
                    100,
                )? as u32,
                journal: match get("RUN_JOURNAL").as_deref() {
                    None | Some("on") => true,
                    Some("off") => false,
                    Some(other) => {
                        return Err(ConfigError {
                            variable: "RUN_JOURNAL",
                            problem: format!("must be on or off, not {other:?}"),
                        })
                    }
                },
            },
            retention_days: number(
                &get,
                "EXECUTION_RETENTION_DAYS",
                DEFAULT_RETENTION_DAYS,
                0,
                36_500,
            )?,
            supabase_url,
        })
    }

    /// PostgREST base URL.
    pub fn rest_url(&self) -> String {
        format!("{}/rest/v1", self.supabase_url)
    }

    /// JWKS URL of the project's auth server.
    pub fn jwks_url(&self) -> String {
        format!("{}/auth/v1/.well-known/jwks.json", self.supabase_url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn missing_required_variable_is_named() {
        let err = parse(&[("SUPABASE_ANON_KEY", "k")]).unwrap_err();
        assert_eq!(err.variable, "SUPABASE_URL");
        let err = parse(&[("SUPABASE_URL", "https://x.supabase.co")]).unwrap_err();
        assert_eq!(err.variable, "SUPABASE_ANON_KEY");
        assert!(err.to_string().contains("SUPABASE_ANON_KEY is not set"));
    }

    #[test]
    fn defaults_derive_from_the_project_url() {
        let c = parse(&[
            ("SUPABASE_URL", "https://x.supabase.co/"),
            ("SUPABASE_ANON_KEY", "k"),
        ])
        .unwrap();
        assert_eq!(c.supabase_url, "https://x.supabase.co");
        assert_eq!(c.jwt_issuer, "https://x.supabase.co/auth/v1");
        assert_eq!(c.jwt_audience, "authenticated");
        assert_eq!(c.rest_url(), "https://x.supabase.co/rest/v1");
        assert!(!c.allow_private_targets);
        assert!(c.jwt_secret.is_none());
    }

    #[test]
    fn origins_and_flags_are_parsed_strictly() {
        let c = parse(&[
            ("SUPABASE_URL", "http://127.0.0.1:1"),
            ("SUPABASE_ANON_KEY", "k"),
            ("ALLOWED_ORIGINS", " http://a.test/, ,https://b.test"),
            ("ALLOW_PRIVATE_TARGETS", "true"),
        ])
        .unwrap();
        assert_eq!(c.allowed_origins, vec!["http://a.test", "https://b.test"]);
        assert!(c.allow_private_targets);
        let err = parse(&[
            ("SUPABASE_URL", "http://127.0.0.1:1"),
            ("SUPABASE_ANON_KEY", "k"),
            ("ALLOW_PRIVATE_TARGETS", "yes"),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "ALLOW_PRIVATE_TARGETS");
    }

    #[test]
    fn the_default_sender_is_one_plain_address() {
        let base = [
            ("SUPABASE_URL", "https://p.supabase.co"),
            ("SUPABASE_ANON_KEY", "k"),
        ];
        let with = |from: &str| {
            let mut vars = base.to_vec();
            vars.push(("EMAIL_FROM", from));
            parse(&vars)
        };
        assert_eq!(
            with("crm@acme.example").unwrap().email_from.as_deref(),
            Some("crm@acme.example")
        );
        for bad in ["Edgeflow <no-reply@acme.example>", "a@b.co, c@d.co", "nobody"] {
            assert_eq!(with(bad).unwrap_err().variable, "EMAIL_FROM", "{bad}");
        }
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let c = parse(&[
            ("SUPABASE_URL", "http://127.0.0.1:1"),
            ("SUPABASE_ANON_KEY", "anon-key-value"),
            ("SUPABASE_JWT_SECRET", "super-secret-value"),
        ])
        .unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("super-secret-value"));
        assert!(!shown.contains("anon-key-value"));
    }
}
