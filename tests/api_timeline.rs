//! The execution timeline SVG, read back with an XML parser: a well-formed
//! SVG document, one bar per step in order, placed and sized by the step's
//! times, coloured by status, and safe with hostile node ids and errors.

use edgeflow::api::timeline::*;
use edgeflow::engine::time::rfc3339_from_ms;
use roxmltree::{Document, Node};
use serde_json::{json, Value};

const SVG_NS: &str = "http://www.w3.org/2000/svg";
const T0: u64 = 1_800_000_000_000;

fn at(offset_ms: u64) -> String {
    rfc3339_from_ms(T0 + offset_ms)
}

fn step(id: &str, status: &str, start: Option<u64>, duration_ms: u64) -> Value {
    json!({
        "nodeId": id, "type": "action", "actionId": "crm.update", "status": status,
        "startedAt": start.map(at), "durationMs": duration_ms, "attempts": 1,
    })
}

fn execution(results: Vec<Value>) -> Value {
    json!({
        "id": "0190aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee", "status": "failed",
        "executed_at": at(0), "finished_at": at(1420), "execution_time_ms": 1420,
        "results": results,
    })
}

/// Parses the document and checks what every timeline has: an `svg` root
/// in the SVG namespace whose size and viewBox agree.
fn parse(svg: &str) -> Document<'_> {
    let doc = Document::parse(svg).unwrap_or_else(|e| panic!("not XML: {e}\n{svg}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.tag_name().namespace(), Some(SVG_NS));
    assert_eq!(root.attribute("version"), Some("1.1"));
    let (w, h) = (
        root.attribute("width").unwrap(),
        root.attribute("height").unwrap(),
    );
    assert_eq!(root.attribute("viewBox"), Some(format!("0 0 {w} {h}").as_str()));
    assert_eq!(w.parse::<f64>().unwrap(), WIDTH);
    doc
}

fn bars<'a, 'i>(doc: &'a Document<'i>) -> Vec<Node<'a, 'i>> {
    doc.descendants()
        .filter(|n| n.has_tag_name((SVG_NS, "rect")) && n.has_attribute("data-node"))
        .collect()
}

fn num(node: Node, attr: &str) -> f64 {
    node.attribute(attr).unwrap().parse().unwrap()
}

fn title(node: Node) -> String {
    let t = node
        .children()
        .find(|c| c.has_tag_name("title"))
        .expect("a title");
    t.text().unwrap_or("").to_string()
}

fn height(doc: &Document) -> f64 {
    num(doc.root_element(), "height")
}

#[test]
fn one_bar_per_step_in_order_coloured_by_status() {
    let svg = timeline_svg(&execution(vec![
        step("trigger", "succeeded", Some(0), 0),
        step("lookup", "succeeded", Some(5), 300),
        step("notify", "failed", Some(310), 1000),
        step("email", "skipped", None, 0),
        step("update", "running", Some(320), 600),
    ]));
    let doc = parse(&svg);
    let bars = bars(&doc);
    let ids: Vec<_> = bars.iter().map(|b| b.attribute("data-node").unwrap()).collect();
    assert_eq!(ids, ["trigger", "lookup", "notify", "email", "update"]);

    let paint: Vec<_> = bars
        .iter()
        .map(|b| (b.attribute("data-status").unwrap(), b.attribute("fill").unwrap()))
        .collect();
    assert_eq!(
        paint,
        [
            ("succeeded", SUCCEEDED_COLOUR),
            ("succeeded", SUCCEEDED_COLOUR),
            ("failed", FAILED_COLOUR),
            ("skipped", "url(#skipped-hatch)"),
            ("running", RUNNING_COLOUR),
        ]
    );
    assert_eq!(SUCCEEDED_COLOUR, "#16a34a");
    assert_eq!(FAILED_COLOUR, "#dc2626");
    assert_eq!(RUNNING_COLOUR, "#f59e0b");
    // The skipped marker is hollow and hatched in grey.
    assert_eq!(bars[3].attribute("stroke"), Some(SKIPPED_COLOUR));
    let hatch = doc
        .descendants()
        .find(|n| n.has_tag_name((SVG_NS, "pattern")) && n.attribute("id") == Some("skipped-hatch"))
        .expect("the hatch pattern");
    assert!(hatch
        .descendants()
        .any(|n| n.attribute("stroke") == Some(SKIPPED_COLOUR)));
    assert_eq!(num(bars[3], "width"), SKIPPED_WIDTH);

    // Rows are one under the other, one fixed height apart.
    for (i, bar) in bars.iter().enumerate() {
        assert_eq!(num(*bar, "y"), ROWS_TOP + i as f64 * ROW_HEIGHT + 4.0, "row {i}");
    }
    // Each row is labelled with its node id, action id and duration.
    let texts: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| {
            n.descendants()
                .filter(|t| t.is_text())
                .filter_map(|t| t.text())
                .collect()
        })
        .collect();
    for want in ["lookupcrm.update", "300 ms", "1 s", "skipped", "600 ms, running"] {
        assert!(texts.iter().any(|t| t == want), "no label {want:?} in {texts:?}");
    }
    let header = texts.iter().find(|t| t.starts_with("Execution ")).unwrap();
    assert_eq!(
        header,
        "Execution 0190aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeeefailed1.42 s · 5 steps"
    );
}

#[test]
fn bars_are_placed_by_start_and_sized_by_duration() {
    // Starts 0..400 ms after the earliest, ending at 1000 ms: the axis runs
    // 0 to 1 s in 200 ms ticks, so 1 ms is CHART_WIDTH / 1000 px.
    let svg = timeline_svg(&execution(vec![
        step("a", "succeeded", Some(1000), 100),
        step("b", "succeeded", Some(1100), 150),
        step("c", "failed", Some(1250), 50),
        step("d", "succeeded", Some(1400), 600),
        step("e", "succeeded", Some(1400), 0),
    ]));
    let doc = parse(&svg);
    let bars = bars(&doc);
    let px = CHART_WIDTH / 1000.0;
    let want = [(0.0, 100.0), (100.0, 150.0), (250.0, 50.0), (400.0, 600.0)];
    for (bar, (start, duration)) in bars.iter().zip(want) {
        assert!((num(*bar, "x") - (CHART_X + start * px)).abs() < 0.01, "{bar:?}");
        assert!((num(*bar, "width") - duration * px).abs() < 0.01, "{bar:?}");
        assert_eq!(num(*bar, "data-start-ms"), start);
        assert_eq!(num(*bar, "data-duration-ms"), duration);
    }
    assert_eq!(
        bars.iter().map(|b| num(*b, "width")).collect::<Vec<_>>()[..4],
        [56.0, 84.0, 28.0, 336.0]
    );
    let xs: Vec<f64> = bars.iter().map(|b| num(*b, "x")).collect();
    assert!(xs.windows(2).all(|w| w[0] <= w[1]), "{xs:?}");
    // A 0 ms step still shows.
    assert_eq!(num(bars[4], "width"), MIN_BAR_WIDTH);
    // The last bar ends at the end of the axis.
    assert!((xs[3] + num(bars[3], "width") - (CHART_X + CHART_WIDTH)).abs() < 0.01);

    let ticks: Vec<(String, String)> = doc
        .descendants()
        .filter(|n| n.has_attribute("data-tick-ms"))
        .map(|n| {
            (
                n.attribute("data-tick-ms").unwrap().into(),
                n.text().unwrap().into(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = [0, 200, 400, 600, 800, 1000]
        .iter()
        .map(|ms| (ms.to_string(), format!("{:.1} s", *ms as f64 / 1000.0)))
        .collect();
    assert_eq!(ticks, want);
}

#[test]
fn a_short_run_has_its_axis_in_milliseconds() {
    let svg = timeline_svg(&execution(vec![
        step("a", "succeeded", Some(0), 40),
        step("b", "succeeded", Some(40), 270),
    ]));
    let doc = parse(&svg);
    let labels: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_attribute("data-tick-ms"))
        .map(|n| n.text().unwrap())
        .collect();
    assert_eq!(
        labels,
        ["0 ms", "50 ms", "100 ms", "150 ms", "200 ms", "250 ms", "300 ms", "350 ms"]
    );
}

#[test]
fn hostile_ids_and_errors_are_escaped_and_stripped() {
    let id =
        "<script>alert(\"x\")</script> & 'q' ]]>\u{0}\u{1}\u{8}\u{b}\u{c}\u{1b}\u{7f}\u{fffe}\u{ffff}end";
    let clean_id = "<script>alert(\"x\")</script> & 'q' ]]>end";
    let mut failed = step(id, "failed", Some(0), 10);
    failed["actionId"] = json!("a&b<c>\"d\"");
    failed["error"] = json!("HTTP 500: ]]><![CDATA[<svg onload=alert(1)>\u{0}\nsecond line");
    let mut ok = step("fine", "succeeded", Some(10), 5);
    ok["type"] = json!("</text><script>");
    let mut ex = execution(vec![failed, ok]);
    ex["id"] = json!("<id & \"co\">");
    ex["status"] = json!("<b>");

    let svg = timeline_svg(&ex);
    for raw in ["<script", "]]>", "<![CDATA[", "<svg onload", "<id", "<b>"] {
        assert!(!svg.contains(raw), "{raw:?} got through:\n{svg}");
    }
    assert!(
        !svg.chars().any(|c| c.is_control() && c != '\n'),
        "a control character got through"
    );
    let doc = parse(&svg);
    let bars = bars(&doc);
    assert_eq!(bars.len(), 2);
    assert_eq!(bars[0].attribute("data-node"), Some(clean_id));
    let tip = title(bars[0]);
    assert!(
        tip.starts_with(&format!("{clean_id} (action a&b<c>\"d\"): failed")),
        "{tip}"
    );
    assert!(
        tip.ends_with("HTTP 500: ]]><![CDATA[<svg onload=alert(1)>\nsecond line"),
        "{tip}"
    );
    // Nothing user-made became an element: only the renderer's own.
    let tags: std::collections::BTreeSet<&str> = doc
        .descendants()
        .filter(|n| n.is_element())
        .map(|n| n.tag_name().name())
        .collect();
    assert_eq!(
        tags.into_iter().collect::<Vec<_>>(),
        ["defs", "line", "pattern", "rect", "svg", "text", "title", "tspan"]
    );
}

#[test]
fn long_ids_are_truncated_in_labels_but_kept_whole_in_data_and_title() {
    let long = "lookup_contact_in_crm_by_email_address";
    let mut s = step(long, "succeeded", Some(0), 10);
    s["actionId"] = json!("crm.find_contact_by_email");
    let svg = timeline_svg(&execution(vec![s]));
    let doc = parse(&svg);
    let bar = bars(&doc)[0];
    assert_eq!(bar.attribute("data-node"), Some(long));
    assert!(title(bar).starts_with(long));
    let label = doc
        .descendants()
        .find(|n| n.has_tag_name("text") && n.text().is_some_and(|t| t.starts_with("lookup")))
        .unwrap();
    assert_eq!(label.text(), Some("lookup_contact_in_crm…"));
    assert_eq!(
        label.children().find(|c| c.is_element()).unwrap().text(),
        Some("crm.find_contac…")
    );
}

#[test]
fn two_hundred_steps_grow_the_document_one_row_each() {
    let results: Vec<Value> = (0..200u64)
        .map(|i| {
            step(
                &format!("step_{i}"),
                if i % 17 == 5 { "failed" } else { "succeeded" },
                Some(i * 150),
                140,
            )
        })
        .collect();
    let svg = timeline_svg(&execution(results));
    let doc = parse(&svg);
    // 68 px of header and axis, 22 px per row, 24 px under the last.
    assert_eq!(height(&doc), 4492.0);
    assert_eq!(height(&doc), ROWS_TOP + 200.0 * ROW_HEIGHT + BOTTOM_PAD);
    let bars = bars(&doc);
    assert_eq!(bars.len(), 200);
    assert_eq!(bars[199].attribute("data-node"), Some("step_199"));
    assert_eq!(num(bars[199], "y"), ROWS_TOP + 199.0 * ROW_HEIGHT + 4.0);
    assert!(num(bars[199], "y") + ROW_HEIGHT <= height(&doc));
    assert_eq!(
        bars.iter()
            .filter(|b| b.attribute("fill") == Some(FAILED_COLOUR))
            .count(),
        12
    );
    // A long timeline repeats the tick labels under its last row.
    let last_row_bottom = ROWS_TOP + 200.0 * ROW_HEIGHT;
    assert!(doc.descendants().any(|n| n.has_tag_name("text")
        && n.attribute("y")
            .is_some_and(|y| y.parse::<f64>().unwrap() > last_row_bottom)));
    assert!(svg.len() < 200 * 1024, "{} bytes", svg.len());
}

#[test]
fn an_execution_without_steps_renders_a_valid_empty_timeline() {
    for ex in [
        json!({"id": "e", "status": "running", "results": []}),
        json!({"id": "e", "status": "running"}),
        json!({"id": "e", "results": "oops"}),
        json!(null),
    ] {
        let svg = timeline_svg(&ex);
        let doc = parse(&svg);
        assert!(bars(&doc).is_empty());
        assert_eq!(height(&doc), ROWS_TOP + ROW_HEIGHT + BOTTOM_PAD);
        let empty = doc
            .descendants()
            .find(|n| n.has_attribute("data-empty"))
            .expect("a no-steps note");
        assert_eq!(empty.text(), Some("No steps recorded"));
    }
}

#[test]
fn missing_or_invalid_starts_are_placed_after_the_steps_before_them() {
    let mut bad = step("bad_time", "failed", None, 30);
    bad["startedAt"] = json!("yesterday");
    bad["error"] = json!("boom");
    let mut untyped = step("no_start_field", "skipped", None, 0);
    untyped.as_object_mut().unwrap().remove("startedAt");
    let svg = timeline_svg(&execution(vec![
        step("first_skipped", "skipped", None, 0),
        step("a", "succeeded", Some(0), 200),
        step("b", "succeeded", Some(50), 400),
        bad,
        untyped,
        step("c", "succeeded", Some(500), 500),
    ]));
    let doc = parse(&svg);
    let bars = bars(&doc);
    let starts: Vec<f64> = bars.iter().map(|b| num(*b, "data-start-ms")).collect();
    // Untimed steps sit where everything before them had settled (b ends at
    // 450 ms); one with nothing before it sits at the end of the run.
    assert_eq!(starts, [1000.0, 0.0, 50.0, 450.0, 450.0, 500.0]);
    assert_eq!(bars[3].attribute("fill"), Some(FAILED_COLOUR));
    let tip = title(bars[3]);
    assert!(tip.contains("start unknown") && tip.ends_with("boom"), "{tip}");
    assert!(title(bars[4]).ends_with("skipped, not started"));
}

#[test]
fn rendering_is_deterministic() {
    let ex = execution(vec![
        step("a", "succeeded", Some(0), 10),
        step("b", "skipped", None, 0),
    ]);
    assert_eq!(timeline_svg(&ex), timeline_svg(&ex.clone()));
}
