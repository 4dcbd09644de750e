//! Condition operators and their evaluation on rendered JSON values.

use serde_json::Value;
use std::cmp::Ordering;

/// A comparison operator of a `condition` node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    Contains,
    Exists,
}

impl Op {
    /// Every accepted spelling, for error messages.
    pub const NAMES: &'static [&'static str] = &["eq", "neq", "gt", "gte", "lt", "lte", "contains", "exists"];

    pub fn parse(name: &str) -> Option<Op> {
        Some(match name {
            "eq" => Op::Eq,
            "neq" => Op::Neq,
            "gt" => Op::Gt,
            "gte" => Op::Gte,
            "lt" => Op::Lt,
            "lte" => Op::Lte,
            "contains" => Op::Contains,
            "exists" => Op::Exists,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        Op::NAMES[self as usize]
    }

    /// `exists` is the only operator without a right-hand side.
    pub fn needs_right(self) -> bool {
        self != Op::Exists
    }
}

/// Evaluates `left op right`. `left` is `None` when its template path was
/// missing, which only `exists` accepts (as false); the caller reports the
/// missing path for every other operator.
pub fn evaluate(op: Op, left: Option<&Value>, right: &Value) -> Result<bool, String> {
    let left = match (op, left) {
        (Op::Exists, l) => return Ok(l.is_some_and(|v| !v.is_null())),
        (_, Some(l)) => l,
        (_, None) => return Err("left operand is missing".into()),
    };
    match op {
        Op::Eq => Ok(equal(left, right)),
        Op::Neq => Ok(!equal(left, right)),
        Op::Gt | Op::Gte | Op::Lt | Op::Lte => {
            let ord = order(left, right).ok_or_else(|| {
                format!(
                    "{} needs two numbers or two strings, got {} and {}",
                    op.as_str(),
                    kind(left),
                    kind(right)
                )
            })?;
            Ok(match op {
                Op::Gt => ord == Ordering::Greater,
                Op::Gte => ord != Ordering::Less,
                Op::Lt => ord == Ordering::Less,
                _ => ord != Ordering::Greater,
            })
        }
        Op::Contains => match left {
            Value::String(s) => Ok(s.contains(&text(right))),
            Value::Array(items) => Ok(items.iter().any(|item| equal(item, right))),
            Value::Null => Ok(false),
            other => Err(format!(
                "contains needs a string or an array on the left, got {}",
                kind(other)
            )),
        },
        Op::Exists => unreachable!("handled above"),
    }
}

/// Numbers and numeric strings compare as numbers, strings as strings, a
/// string against a boolean by its text, anything else as JSON.
fn equal(a: &Value, b: &Value) -> bool {
    if let (Some(x), Some(y)) = (number(a), number(b)) {
        return x == y;
    }
    match (a, b) {
        (Value::String(s), Value::Bool(t)) | (Value::Bool(t), Value::String(s)) => s.trim() == t.to_string(),
        _ => a == b,
    }
}

fn order(a: &Value, b: &Value) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (number(a), number(b)) {
        return x.partial_cmp(&y);
    }
    match (a, b) {
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// A JSON number, or a string that is exactly a finite decimal number.
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => {
            let t = s.trim();
            // Rust's parser also accepts "inf" and "NaN"; form data never means those.
            let looks_numeric = !t.is_empty()
                && t.chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'));
            if looks_numeric {
                t.parse::<f64>().ok().filter(|x| x.is_finite())
            } else {
                None
            }
        }
        _ => None,
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A JSON value's type, for messages ("a string", "null", ...).
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(op: &str, l: Value, r: Value) -> Result<bool, String> {
        evaluate(Op::parse(op).unwrap(), Some(&l), &r)
    }

    #[test]
    fn op_names_round_trip() {
        for name in Op::NAMES {
            assert_eq!(Op::parse(name).unwrap().as_str(), *name);
        }
        assert_eq!(Op::parse("=="), None);
    }

    #[test]
    fn numbers_and_numeric_strings_compare_numerically() {
        assert_eq!(eval("gte", json!(70), json!(70)), Ok(true));
        assert_eq!(eval("gt", json!("80"), json!(70)), Ok(true));
        assert_eq!(eval("lt", json!("9"), json!("10")), Ok(true));
        assert_eq!(eval("eq", json!("70.0"), json!(70)), Ok(true));
        assert_eq!(eval("lte", json!(71), json!(70)), Ok(false));
        assert_eq!(eval("neq", json!(1), json!("1")), Ok(false));
    }

    #[test]
    fn strings_compare_as_text_and_odd_types_error() {
        assert_eq!(eval("lt", json!("apple"), json!("banana")), Ok(true));
        assert_eq!(eval("eq", json!("Won"), json!("won")), Ok(false));
        assert_eq!(eval("eq", json!("true"), json!(true)), Ok(true));
        assert_eq!(eval("eq", json!({"a": 1}), json!({"a": 1})), Ok(true));
        assert_eq!(eval("eq", json!("inf"), json!("inf")), Ok(true));
        let err = eval("gt", json!({"a": 1}), json!(3)).unwrap_err();
        assert!(err.contains("an object and a number"), "{err}");
    }

    #[test]
    fn contains_on_strings_and_arrays() {
        assert_eq!(eval("contains", json!("hello world"), json!("lo w")), Ok(true));
        assert_eq!(eval("contains", json!(["a", 2]), json!("2")), Ok(true));
        assert_eq!(eval("contains", json!(["a"]), json!("b")), Ok(false));
        assert_eq!(eval("contains", json!("v12"), json!(12)), Ok(true));
        assert!(eval("contains", json!(5), json!(5)).is_err());
    }

    #[test]
    fn exists_treats_missing_and_null_as_absent() {
        assert_eq!(evaluate(Op::Exists, None, &Value::Null), Ok(false));
        assert_eq!(evaluate(Op::Exists, Some(&Value::Null), &Value::Null), Ok(false));
        assert_eq!(evaluate(Op::Exists, Some(&json!("")), &Value::Null), Ok(true));
        assert!(evaluate(Op::Eq, None, &json!(1)).is_err());
    }
}
