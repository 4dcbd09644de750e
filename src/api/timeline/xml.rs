//! Text made safe for an XML document: characters XML 1.0 forbids are
//! dropped, markup characters escaped, labels kept to one line and a length.

/// Whether `c` may appear in the document. XML 1.0 forbids the C0 controls
/// other than tab, line feed and carriage return, and U+FFFE and U+FFFF
/// (Rust strings hold no surrogates); DEL and the C1 controls are allowed
/// but discouraged, and only show up as garbage, so they go too.
fn allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || !(c.is_control() || c == '\u{fffe}' || c == '\u{ffff}')
}

/// `s` without the characters [`allowed`] refuses.
pub(super) fn clean(s: &str) -> String {
    s.chars().filter(|&c| allowed(c)).collect()
}

/// At most `max` characters of `s`, the last replaced by an ellipsis when
/// some were cut.
pub(super) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A one-line label: cleaned, line breaks and tabs as spaces, truncated.
pub(super) fn label(s: &str, max: usize) -> String {
    let one_line: String = clean(s)
        .chars()
        .map(|c| if c.is_whitespace() && c != ' ' { ' ' } else { c })
        .collect();
    truncate(&one_line, max)
}

/// `s` as element text or an attribute value (either quote): markup
/// characters as entities, tab and line breaks as character references so
/// attribute normalisation keeps them, forbidden characters dropped. Safe
/// on any input, cleaned or not.
pub(super) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().filter(|&c| allowed(c)) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_what_xml_forbids() {
        assert_eq!(
            escape("<script>\"a\" & 'b' ]]>\u{0}\u{1b}\u{7f}\u{85}\u{fffe}\u{ffff}ok"),
            "&lt;script&gt;&quot;a&quot; &amp; &apos;b&apos; ]]&gt;ok"
        );
        assert_eq!(escape("a\tb\nc\rd"), "a&#9;b&#10;c&#13;d");
        assert_eq!(escape("é ✓ 𝄞"), "é ✓ 𝄞");
    }

    #[test]
    fn labels_are_one_line_and_cut_by_characters() {
        assert_eq!(label("a\nb\tc\u{7}", 10), "a b c");
        assert_eq!(label("abcdef", 6), "abcdef");
        assert_eq!(label("abcdefg", 6), "abcde…");
        // Cut on characters, never inside one.
        assert_eq!(label("ééééééé", 4), "ééé…");
        assert_eq!(truncate("ab", 1), "…");
        assert_eq!(truncate("ab", 0), "");
    }
}
