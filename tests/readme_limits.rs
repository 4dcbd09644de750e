//! The README's limits table lists exactly the values in `limits`, row for
//! row, so the documentation cannot drift from the code.

use std::path::Path;

/// The rows of the Markdown table whose header is `| limit or default | value |`.
fn readme_rows() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let mut lines = readme
        .lines()
        .skip_while(|l| l.trim() != "| limit or default | value |");
    assert!(lines.next().is_some(), "README has no limits table");
    lines
        .skip(1) // the |---|---| line
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.trim().trim_matches('|').split(" | ").map(str::trim).collect();
            assert_eq!(cells.len(), 2, "limits row with other than two cells: {l}");
            (cells[0].to_string(), cells[1].to_string())
        })
        .collect()
}

#[test]
fn the_readme_lists_exactly_the_limits_in_the_code() {
    let expected: Vec<(String, String)> = edgeflow::limits::table()
        .into_iter()
        .map(|(what, value)| (what.to_string(), value))
        .collect();
    let documented = readme_rows();
    if documented != expected {
        let table: String = expected.iter().map(|(w, v)| format!("| {w} | {v} |\n")).collect();
        panic!("the README's limits table differs from limits::table(); it should read:\n{table}");
    }
}
