//! Unit tests of template parsing and rendering.

use super::*;
use serde_json::json;

fn with_scope<T>(f: impl FnOnce(&Scope<'_>) -> T) -> T {
    let trigger = json!({"email": "ada@example.com", "age": 36, "tags": ["a", "b"],
                         "items": [{"name": "first"}], "profile": {"city": "Turin"}});
    let mut outputs = HashMap::new();
    outputs.insert("action-1".to_string(), json!({"score": 82, "grade": "A"}));
    let scope = Scope::top(&trigger, "exec-1", Some("wf-1"), &outputs);
    f(&scope)
}

fn render_json(v: Value) -> Result<Value, TemplateError> {
    with_scope(|s| render(&v, s))
}

#[test]
fn whole_value_templates_keep_their_type() {
    assert_eq!(render_json(json!("{{trigger.age}}")), Ok(json!(36)));
    assert_eq!(
        render_json(json!("  {{ trigger.profile }} ")),
        Ok(json!({"city": "Turin"}))
    );
    assert_eq!(render_json(json!("{{trigger.tags}}")), Ok(json!(["a", "b"])));
    assert_eq!(
        render_json(json!("{{nodes.action-1.output.score}}")),
        Ok(json!(82))
    );
    assert_eq!(render_json(json!("{{workflow.id}}")), Ok(json!("wf-1")));
    assert_eq!(render_json(json!("{{execution.id}}")), Ok(json!("exec-1")));
}

#[test]
fn text_interpolation_and_nesting() {
    let out = render_json(json!({
        "body": "Hi {{trigger.email}}, age {{trigger.age}}, tags {{trigger.tags}}",
        "list": ["{{trigger.items.0.name}}", 3, {"deep": "{{ nodes.action-1.output.grade }}!"}],
        "two": "{{trigger.age}}{{trigger.age}}"
    }))
    .unwrap();
    assert_eq!(
        out,
        json!({
            "body": "Hi ada@example.com, age 36, tags [\"a\",\"b\"]",
            "list": ["first", 3, {"deep": "A!"}],
            "two": "3636"
        })
    );
}

#[test]
fn unclosed_braces_are_text() {
    assert_eq!(render_json(json!("a {{ b")), Ok(json!("a {{ b")));
    assert!(!has_template("a {{ b"));
    assert!(has_template("x {{trigger}} y"));
}

#[test]
fn missing_path_names_template_and_path() {
    let err = render_json(json!({"to": "{{trigger.mail}}"})).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Missing);
    assert_eq!(
        err.to_string(),
        "template {{trigger.mail}}: path \"mail\" not found in trigger data"
    );
    let err = render_json(json!("{{trigger.items.5.name}}")).unwrap_err();
    assert!(err.message.contains("\"items.5.name\""), "{err}");
    let err = render_json(json!("{{nodes.other.output.x}}")).unwrap_err();
    assert!(err.message.contains("no output"), "{err}");
}

#[test]
fn malformed_templates_are_syntax_errors() {
    for bad in [
        "{{}}",
        "{{ a b }}",
        "{{trigger..x}}",
        "{{env.SECRET}}",
        "{{nodes.a.x}}",
        "{{execution.name}}",
    ] {
        let refs = references(&json!({"f": bad}), "data.config");
        assert_eq!(refs.len(), 1, "{bad}");
        let (field, result) = &refs[0];
        assert_eq!(field, "data.config.f");
        assert_eq!(result.as_ref().unwrap_err().kind, ErrorKind::Syntax, "{bad}");
    }
}

#[test]
fn references_list_every_template_with_its_field() {
    let refs = references(
        &json!({"a": ["x {{trigger.a}} {{nodes.n-2.output}}"], "b": 1}),
        "cfg",
    );
    let roots: Vec<_> = refs
        .iter()
        .map(|(f, r)| (f.as_str(), r.clone().unwrap().root))
        .collect();
    assert_eq!(
        roots,
        vec![
            ("cfg.a.0", Root::Trigger),
            ("cfg.a.0", Root::NodeOutput("n-2".into()))
        ]
    );
}

#[test]
fn render_with_escapes_interpolated_values_only() {
    fn esc(s: &str) -> String {
        s.replace('<', "&lt;").replace('>', "&gt;")
    }
    let trigger = json!({"name": "<b>Eve</b>", "n": 5});
    let outputs = HashMap::new();
    let scope = Scope::top(&trigger, "e", None, &outputs);
    let out = render_with(
        &json!({"body": "<p>Hi {{trigger.name}}</p>", "whole": "{{trigger.name}}", "n": "{{trigger.n}}"}),
        &scope,
        esc,
    )
    .unwrap();
    assert_eq!(
        out,
        json!({"body": "<p>Hi &lt;b&gt;Eve&lt;/b&gt;</p>", "whole": "&lt;b&gt;Eve&lt;/b&gt;", "n": "5"})
    );
    assert_eq!(render(&json!("{{workflow.id}}"), &scope), Ok(Value::Null));
}

#[test]
fn escape_html_covers_markup_and_quotes() {
    assert_eq!(
        escape_html(r#"<a href="x">Tom & 'Jerry'</a>"#),
        "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
    );
}
