//! One execution's steps as a standalone SVG 1.1 timeline: a header, a time
//! axis, and one bar per step on it, coloured by status. Pure: it reads the
//! Execution JSON the API returns and writes text (no clock, no I/O), so the
//! same execution always renders to the same bytes.
//!
//! Layout: a fixed-width document that grows down, one fixed-height row per
//! step. Left of the chart, each row's node id and action id (truncated with
//! an ellipsis); in the chart, the bar, placed by `startedAt` relative to the
//! earliest start and `durationMs` wide (at least [`MIN_BAR_WIDTH`]); right
//! of the bar, its duration. Skipped steps have no start: they are a hatched
//! marker at the moment the steps listed before them had settled (results
//! come in graph order, so a step's predecessors are among those), or at
//! the end of the run when none is listed before them.

mod scale;
mod steps;
mod xml;

use std::fmt::Write;

use serde_json::Value;

use crate::engine::time::{ms_from_rfc3339, rfc3339_from_ms};
use scale::{axis, duration_label, num, tick_label};
use steps::{millis, place, Placed, Status, Step};
use xml::{escape, label};

/// Document width in px.
pub const WIDTH: f64 = 960.0;
/// Height of one step's row in px; the document is `ROWS_TOP + rows *
/// ROW_HEIGHT + BOTTOM_PAD` high, with at least one row.
pub const ROW_HEIGHT: f64 = 22.0;
/// Where the first row starts: the header line, then the axis labels.
pub const ROWS_TOP: f64 = 68.0;
/// Space under the last row (where a long timeline repeats its tick labels).
pub const BOTTOM_PAD: f64 = 24.0;
/// Where the chart (time 0) starts; left of it, the row labels.
pub const CHART_X: f64 = 300.0;
/// Chart width in px: the axis' full span. Right of it, room for the last
/// bar's duration label.
pub const CHART_WIDTH: f64 = 560.0;
/// Narrowest bar, so a 0 ms step still shows.
pub const MIN_BAR_WIDTH: f64 = 2.0;
/// Width of a skipped step's marker.
pub const SKIPPED_WIDTH: f64 = 8.0;

/// Bar colours by step status (also the header's status colour).
pub const SUCCEEDED_COLOUR: &str = "#16a34a";
pub const FAILED_COLOUR: &str = "#dc2626";
pub const SKIPPED_COLOUR: &str = "#9ca3af";
pub const RUNNING_COLOUR: &str = "#f59e0b";
/// A status the renderer does not know.
pub const OTHER_COLOUR: &str = "#64748b";

const BAR_HEIGHT: f64 = 14.0;
/// From how many rows the tick labels are repeated under the last one.
const REPEAT_AXIS_ROWS: usize = 20;
const LEFT_PAD: f64 = 16.0;
const TEXT: &str = "#111827";
const MUTED: &str = "#6b7280";
const GRID: &str = "#e5e7eb";
const STRIPE: &str = "#f9fafb";
/// Most characters of a node id and of an action id in a row label, so
/// that both fit left of the chart in the monospace font.
const NODE_ID_CHARS: usize = 22;
const ACTION_ID_CHARS: usize = 16;
/// Most characters of an error in a bar's tooltip.
const ERROR_CHARS: usize = 1000;

/// The run's total: `execution_time_ms`, else `finished_at - executed_at`,
/// else how long its steps span.
fn total_ms(execution: &Value, steps_span: u64) -> u64 {
    millis(&execution["execution_time_ms"])
        .or_else(|| {
            let start = ms_from_rfc3339(execution["executed_at"].as_str()?)?;
            let end = ms_from_rfc3339(execution["finished_at"].as_str()?)?;
            end.checked_sub(start)
        })
        .unwrap_or(steps_span)
}

/// Renders an Execution (`{id, status, executed_at, finished_at,
/// execution_time_ms, results: [NodeResult]}`, as the API returns it) as a
/// standalone SVG document. Never fails: missing fields fall back, and
/// every text that came from a user is stripped of what XML forbids and
/// escaped.
pub fn timeline_svg(execution: &Value) -> String {
    let results = execution["results"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let steps: Vec<Step> = results.iter().map(Step::read).collect();
    let placed = place(&steps);
    let span = placed
        .iter()
        .map(|p| p.offset.saturating_add(p.length))
        .max()
        .unwrap_or(0);
    let rows = steps.len().max(1);
    let height = ROWS_TOP + rows as f64 * ROW_HEIGHT + BOTTOM_PAD;

    let mut out = String::with_capacity(2048 + steps.len() * 700);
    let _ = write!(
        out,
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            "\n",
            r#"<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{w}" height="{h}" viewBox="0 0 {w} {h}" "#,
            r#"font-family="ui-monospace, SFMono-Regular, Menlo, Consolas, monospace" font-size="12">"#,
            "\n"
        ),
        w = num(WIDTH),
        h = num(height)
    );
    let id = label(execution["id"].as_str().unwrap_or("(no id)"), 64);
    let _ = writeln!(out, "<title>Execution {} timeline</title>", escape(&id));
    let _ = writeln!(
        out,
        concat!(
            r#"<defs><pattern id="skipped-hatch" width="4" height="4" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">"#,
            r##"<rect width="4" height="4" fill="#f3f4f6"/><line x1="0" y1="0" x2="0" y2="4" stroke="{}" stroke-width="1.5"/>"##,
            "</pattern></defs>"
        ),
        SKIPPED_COLOUR
    );
    let _ = writeln!(
        out,
        r##"<rect width="{}" height="{}" fill="#ffffff"/>"##,
        num(WIDTH),
        num(height)
    );
    header(&mut out, execution, &id, steps.len(), total_ms(execution, span));

    if steps.is_empty() {
        let _ = writeln!(
            out,
            r#"<text data-empty="true" x="{}" y="{}" fill="{MUTED}">No steps recorded</text>"#,
            num(LEFT_PAD),
            num(ROWS_TOP + 15.0)
        );
        out.push_str("</svg>\n");
        return out;
    }

    let (tick, axis_ms) = axis(span);
    let scale = CHART_WIDTH / axis_ms as f64;
    grid(&mut out, tick, axis_ms, scale, rows);
    for (i, (step, at)) in steps.iter().zip(&placed).enumerate() {
        row(&mut out, i, step, at, scale);
    }
    out.push_str("</svg>\n");
    out
}

/// `Execution <id>  <status>  <total> · <n> steps`, and when it started.
fn header(out: &mut String, execution: &Value, id: &str, steps: usize, total: u64) {
    let status = execution["status"].as_str().unwrap_or("unknown");
    let colour = Status::parse(&execution["status"]).colour();
    let plural = if steps == 1 { "" } else { "s" };
    let _ = writeln!(
        out,
        concat!(
            r#"<text data-header="true" x="{x}" y="26" font-size="14" font-weight="bold" fill="{TEXT}">Execution {id}"#,
            r#"<tspan dx="10" fill="{colour}">{status}</tspan>"#,
            r#"<tspan dx="10" font-weight="normal" fill="{MUTED}">{total} · {steps} step{plural}</tspan></text>"#
        ),
        x = num(LEFT_PAD),
        TEXT = TEXT,
        id = escape(id),
        colour = colour,
        status = escape(&label(status, 16)),
        MUTED = MUTED,
        total = duration_label(total),
        steps = steps,
        plural = plural
    );
    if let Some(at) = execution["executed_at"].as_str().and_then(ms_from_rfc3339) {
        let _ = writeln!(
            out,
            r#"<text x="{}" y="26" text-anchor="end" font-size="11" fill="{MUTED}">{}</text>"#,
            num(WIDTH - LEFT_PAD),
            rfc3339_from_ms(at)
        );
    }
}

/// Behind the rows: a stripe on every other row, then the axis line, and
/// per tick a grid line down through every row, a tick mark and a label
/// (repeated under the last row of a long timeline).
fn grid(out: &mut String, tick: u64, axis_ms: u64, scale: f64, rows: usize) {
    for i in (1..rows).step_by(2) {
        let _ = writeln!(
            out,
            r#"<rect x="0" y="{}" width="{}" height="{}" fill="{STRIPE}"/>"#,
            num(ROWS_TOP + i as f64 * ROW_HEIGHT),
            num(WIDTH),
            num(ROW_HEIGHT)
        );
    }
    let bottom = ROWS_TOP + rows as f64 * ROW_HEIGHT;
    let _ = writeln!(
        out,
        r#"<line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="{SKIPPED_COLOUR}"/>"#,
        num(CHART_X),
        num(CHART_X + CHART_WIDTH),
        y = num(ROWS_TOP)
    );
    for k in 0..=axis_ms / tick {
        let ms = k * tick;
        let x = num(CHART_X + ms as f64 * scale);
        let text = tick_label(ms, tick, axis_ms);
        let _ = writeln!(
            out,
            concat!(
                r#"<line x1="{x}" y1="{top}" x2="{x}" y2="{bottom}" stroke="{GRID}"/>"#,
                r#"<line x1="{x}" y1="{tick_top}" x2="{x}" y2="{top}" stroke="{SKIPPED_COLOUR}"/>"#,
                r#"<text data-tick-ms="{ms}" x="{x}" y="{label_y}" text-anchor="middle" font-size="10" fill="{MUTED}">{text}</text>"#
            ),
            x = x,
            top = num(ROWS_TOP),
            bottom = num(bottom),
            GRID = GRID,
            tick_top = num(ROWS_TOP - 5.0),
            SKIPPED_COLOUR = SKIPPED_COLOUR,
            ms = ms,
            label_y = num(ROWS_TOP - 9.0),
            MUTED = MUTED,
            text = text
        );
        if rows > REPEAT_AXIS_ROWS {
            let _ = writeln!(
                out,
                r#"<text x="{x}" y="{}" text-anchor="middle" font-size="10" fill="{MUTED}">{text}</text>"#,
                num(bottom + 14.0)
            );
        }
    }
}

/// One step's row: label, bar (with its tooltip), duration.
fn row(out: &mut String, i: usize, step: &Step, at: &Placed, scale: f64) {
    let top = ROWS_TOP + i as f64 * ROW_HEIGHT;
    let baseline = num(top + 15.0);
    let secondary = step.action_id.unwrap_or(step.node_type);
    let _ = write!(
        out,
        r#"<text x="{}" y="{baseline}" fill="{TEXT}">{}"#,
        num(LEFT_PAD),
        escape(&label(step.node_id, NODE_ID_CHARS))
    );
    if !secondary.is_empty() {
        let _ = write!(
            out,
            r#"<tspan dx="6" font-size="11" fill="{MUTED}">{}</tspan>"#,
            escape(&label(secondary, ACTION_ID_CHARS))
        );
    }
    out.push_str("</text>\n");

    let x = CHART_X + at.offset as f64 * scale;
    let width = match step.status {
        Status::Skipped => SKIPPED_WIDTH,
        _ => (at.length as f64 * scale).max(MIN_BAR_WIDTH),
    };
    let paint = match step.status {
        Status::Skipped => format!(r#"fill="url(#skipped-hatch)" stroke="{SKIPPED_COLOUR}""#),
        status => format!(r#"fill="{}""#, status.colour()),
    };
    let _ = writeln!(
        out,
        concat!(
            r#"<rect data-node="{node}" data-status="{status}" data-start-ms="{start}" data-duration-ms="{duration}" "#,
            r#"x="{x}" y="{y}" width="{width}" height="{h}" rx="2" {paint}><title>{title}</title></rect>"#
        ),
        node = escape(step.node_id),
        status = step.status.name(),
        start = at.offset,
        duration = at.length,
        x = num(x),
        y = num(top + (ROW_HEIGHT - BAR_HEIGHT) / 2.0),
        width = num(width),
        h = num(BAR_HEIGHT),
        paint = paint,
        title = escape(&tooltip(step, at))
    );
    let text = match step.status {
        Status::Skipped => "skipped".to_string(),
        Status::Running => format!("{}, running", duration_label(step.duration_ms)),
        _ => duration_label(step.duration_ms),
    };
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{baseline}" font-size="11" fill="{MUTED}">{text}</text>"#,
        num(x + width + 6.0)
    );
}

/// A bar's tooltip: the full node id, what ran, when and how long, and the
/// error of a failed step. Unescaped: the caller escapes it.
fn tooltip(step: &Step, at: &Placed) -> String {
    let mut what = step.node_type.to_string();
    if let Some(action) = step.action_id {
        what = if what.is_empty() {
            action.to_string()
        } else {
            format!("{what} {action}")
        };
    }
    let mut text = xml::clean(step.node_id);
    if !what.is_empty() {
        let _ = write!(text, " ({})", xml::clean(&what));
    }
    let _ = write!(text, ": {}", step.status.name());
    if step.status == Status::Skipped {
        text.push_str(", not started");
    } else {
        let start = if step.started_ms.is_some() {
            "+"
        } else {
            "start unknown, placed at +"
        };
        let plural = if step.attempts == 1 { "" } else { "s" };
        let _ = write!(
            text,
            "\n{start}{}, {}, {} attempt{plural}",
            duration_label(at.offset),
            duration_label(step.duration_ms),
            step.attempts
        );
    }
    if let Some(error) = step.error.filter(|_| step.status == Status::Failed) {
        let _ = write!(text, "\n{}", xml::truncate(&xml::clean(error), ERROR_CHARS));
    }
    text
}
