//! Live feedback as Server-Sent Events: `GET /api/executions/{id}/events`
//! (any run), and `POST .../execute` with `Accept: text/event-stream` (the
//! run it starts). The stream replays what the journal holds, then follows
//! the run by polling it, and ends with `done` when the run is final.
//!
//! Events: `execution` (the row when the stream opens, id 0), `step` (a
//! `NodeResult`: `running` when the step starts, then its settled result),
//! `done` (the final Execution, with an id above every step's). A step's id
//! is its journal row's `seq`, drawn anew each time the row is written and,
//! within a run, in commit order (see `api::journal`). Each poll sends every
//! row whose seq is above the last id sent, in its current state: a client
//! sees a step start and settle, or only settled when both happened between
//! two polls (or before it connected). `Last-Event-ID` resumes from there:
//! nothing sent is sent again, nothing written since is missed.
//!
//! A `: keep-alive` comment goes out while nothing happens, so proxies keep
//! an idle stream open. Each poll costs two subrequests; a stream ends after
//! `RUN_SUBREQUEST_BUDGET` of them (or `limits::STREAM_MAX_MS`) and the
//! client reconnects with `Last-Event-ID` (`EventSource` does by itself;
//! `retry:` tells it how soon).
//!
//! `EventSource` cannot send an `Authorization` header, and the long-lived
//! access token must never be put in a URL: `POST
//! /api/executions/{id}/stream-ticket` (authenticated) gives a ticket valid
//! for `STREAM_TICKET_TTL_SECS`, good for that one run only, to pass as
//! `?ticket=`. It is an HMAC of the run, its owner and an expiry, never a
//! token PostgREST would accept.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use uuid::Uuid;

use super::journal;
use super::runs::{self, Owner};
use super::{auth, ApiRequest, Platform};
use crate::config::Config;
use crate::error::ApiError;
use crate::limits::{STREAM_KEEPALIVE_MS, STREAM_MAX_MS, STREAM_POLL_MS, STREAM_TICKET_TTL_SECS};
use crate::rest::RestClient;

/// One event as the wire carries it.
pub fn event(name: &str, id: u64, data: &Value) -> String {
    format!("event: {name}\nid: {id}\ndata: {data}\n\n")
}

fn ticket_mac(config: &Config, payload: &str) -> Result<Vec<u8>, ApiError> {
    let secret = config
        .jwt_secret
        .as_ref()
        .ok_or_else(|| ApiError::Misconfigured("SUPABASE_JWT_SECRET is needed for stream tickets".into()))?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(format!("edgeflow-stream-ticket:{}", secret.expose()).as_bytes())
            .expect("HMAC takes any key length");
    mac.update(payload.as_bytes());
    Ok(mac.finalize().into_bytes().to_vec())
}

/// A ticket for `execution_id`, owned by `user_id`, valid until `now_s + TTL`.
pub fn ticket(config: &Config, execution_id: Uuid, user_id: Uuid, now_s: u64) -> Result<String, ApiError> {
    let payload = format!("{execution_id}.{user_id}.{}", now_s + STREAM_TICKET_TTL_SECS);
    let mac = ticket_mac(config, &payload)?;
    Ok(format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(payload),
        URL_SAFE_NO_PAD.encode(mac)
    ))
}

/// The owner a ticket was made for, if it is genuine, unexpired and for this run.
pub fn check_ticket(config: &Config, ticket: &str, execution_id: Uuid, now_s: u64) -> Result<Uuid, ApiError> {
    let bad = || ApiError::unauthorized("invalid or expired stream ticket");
    let (payload, mac) = ticket.split_once('.').ok_or_else(bad)?;
    let payload =
        String::from_utf8(URL_SAFE_NO_PAD.decode(payload).map_err(|_| bad())?).map_err(|_| bad())?;
    let mac = URL_SAFE_NO_PAD.decode(mac).map_err(|_| bad())?;
    let expected = ticket_mac(config, &payload)?;
    let same = crate::auth::same_secret(&mac, &expected);
    let mut parts = payload.split('.');
    let (Some(run), Some(user), Some(exp), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let exp: u64 = exp.parse().map_err(|_| bad())?;
    if !same || run != execution_id.to_string() || now_s > exp {
        return Err(bad());
    }
    Uuid::parse_str(user).map_err(|_| bad())
}

/// A stream following one run as a reader (the caller, or the ticket's owner).
pub struct Follow<P> {
    config: Config,
    p: P,
    execution_id: String,
    token: String,
    /// The last event id the client has: `Last-Event-ID`, then the seq
    /// of the last step sent.
    sent: u64,
    replay_execution: bool,
    opened_ms: u64,
    last_chunk_ms: u64,
    calls: u32,
    finished: bool,
}

impl<P: Platform> Follow<P> {
    /// Opens `GET /api/executions/{id}/events`: authenticates (bearer token
    /// or ticket) and checks that the run is the reader's (else 404).
    pub async fn open(req: &ApiRequest, config: &Config, p: P, execution_id: Uuid) -> Result<Self, ApiError> {
        let token = match (req.header("authorization"), req.query_param("ticket")) {
            (Some(header), _) => auth::authenticate(Some(header), config, &p).await?.token,
            (None, Some(ticket)) => {
                let owner = check_ticket(config, ticket, execution_id, p.now_ms() / 1000)?;
                Owner::minted(config, owner, p.now_ms())?.token
            }
            (None, None) => return Err(ApiError::unauthorized("no bearer token and no ticket")),
        };
        Self::follow(req, config, p, execution_id, token).await
    }

    /// Follows a run the reader holding `token` may read.
    pub async fn follow(
        req: &ApiRequest,
        config: &Config,
        p: P,
        execution_id: Uuid,
        token: String,
    ) -> Result<Self, ApiError> {
        let db = RestClient::for_token(config, &token);
        runs::read(&db, &p, &execution_id.to_string())
            .await?
            .ok_or_else(|| ApiError::NotFound("execution not found".into()))?;
        let last = req
            .header("last-event-id")
            .and_then(|v| v.trim().parse::<u64>().ok());
        let now = p.now_ms();
        Ok(Follow {
            config: config.clone(),
            execution_id: execution_id.to_string(),
            token,
            sent: last.unwrap_or(0),
            replay_execution: last.is_none(),
            opened_ms: now,
            last_chunk_ms: now,
            calls: 1,
            finished: false,
            p,
        })
    }

    /// The next chunk of the stream; `None` once it is over.
    pub async fn next(&mut self) -> Option<String> {
        if self.finished {
            return None;
        }
        let budget = self.config.runs.subrequest_budget;
        loop {
            let mut chunk = String::new();
            if self.replay_execution {
                self.replay_execution = false;
                chunk.push_str(&format!("retry: {}\n\n", STREAM_POLL_MS));
            }
            let db = RestClient::for_token(&self.config, &self.token);
            let row = match runs::read(&db, &self.p, &self.execution_id).await {
                Ok(Some(row)) => row,
                _ => {
                    self.finished = true;
                    return Some(event(
                        "error",
                        self.sent,
                        &json!({"error": "the run could not be read"}),
                    ));
                }
            };
            // A failed read is tried again at the next poll; `done` waits
            // for a read that succeeded, so no step is skipped on the way.
            let steps = journal::steps_after(&db, &self.p, &self.execution_id, self.sent)
                .await
                .ok();
            self.calls += 2;
            if chunk.starts_with("retry") && self.sent == 0 {
                let mut opened = row.clone();
                opened["results"] = json!([]);
                chunk.push_str(&event("execution", 0, &opened));
            }
            for step in steps.iter().flatten() {
                let seq = journal::seq_of(step);
                if seq > self.sent {
                    chunk.push_str(&event("step", seq, &step["result"]));
                    self.sent = seq;
                }
            }
            if steps.is_some() && runs::is_final(row["status"].as_str().unwrap_or("")) {
                let mut done = row;
                let mut last = self.sent;
                // A run that ended without its results written (cancelled,
                // given up) shows what its journal settled.
                if done["results"].as_array().is_none_or(Vec::is_empty) {
                    let all = journal::steps(&db, &self.p, &self.execution_id)
                        .await
                        .unwrap_or_default();
                    self.calls += 1;
                    last = all.iter().map(journal::seq_of).fold(last, u64::max);
                    done["results"] = Value::Array(journal::results(&all, None));
                }
                chunk.push_str(&event("done", last + 1, &done));
                self.finished = true;
                return Some(chunk);
            }
            let now = self.p.now_ms();
            if now.saturating_sub(self.opened_ms) >= STREAM_MAX_MS || self.calls + 2 > budget {
                // Ends here; the client reconnects with Last-Event-ID.
                self.finished = true;
                chunk.push_str(": reconnect to follow on\n\n");
                return Some(chunk);
            }
            if !chunk.is_empty() {
                self.last_chunk_ms = now;
                return Some(chunk);
            }
            if now.saturating_sub(self.last_chunk_ms) >= STREAM_KEEPALIVE_MS {
                self.last_chunk_ms = now;
                return Some(": keep-alive\n\n".to_string());
            }
            self.p.sleep(STREAM_POLL_MS).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let vars = [
            ("SUPABASE_URL", "https://p.supabase.co"),
            ("SUPABASE_ANON_KEY", "anon"),
            ("SUPABASE_JWT_SECRET", "a-long-enough-local-secret"),
        ];
        Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap()
    }

    #[test]
    fn a_ticket_is_good_for_its_run_until_it_expires() {
        let (run, other, user) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let t = ticket(&config(), run, user, 1_000).unwrap();
        assert_eq!(
            check_ticket(&config(), &t, run, 1_000 + STREAM_TICKET_TTL_SECS).unwrap(),
            user
        );
        assert!(check_ticket(&config(), &t, run, 1_001 + STREAM_TICKET_TTL_SECS).is_err());
        assert!(check_ticket(&config(), &t, other, 1_000).is_err());
        let forged = format!("{}x", &t[..t.len() - 1]);
        assert!(check_ticket(&config(), &forged, run, 1_000).is_err());
        assert!(check_ticket(&config(), "nonsense", run, 1_000).is_err());
    }

    #[test]
    fn events_are_framed_with_name_id_and_one_data_line() {
        assert_eq!(
            event("step", 3, &json!({"a": "b\nc"})),
            "event: step\nid: 3\ndata: {\"a\":\"b\\nc\"}\n\n"
        );
    }
}
