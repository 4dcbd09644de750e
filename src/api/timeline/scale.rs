//! The time axis and the numbers on the picture: round tick intervals,
//! labels in ms or s, durations for people, coordinates as short decimals.

/// Most intervals on the time axis.
const MAX_TICKS: u64 = 8;

/// The axis: a round tick interval (1, 2 or 5 times a power of ten ms) and
/// the axis' full span, a whole number of intervals covering every bar.
pub(super) fn axis(span_ms: u64) -> (u64, u64) {
    let span = span_ms.max(1);
    let mut base: u64 = 1;
    loop {
        for m in [1, 2, 5] {
            let step = base.saturating_mul(m);
            let ticks = span.div_ceil(step);
            if ticks <= MAX_TICKS {
                return (step, ticks.saturating_mul(step));
            }
        }
        base = base.saturating_mul(10);
    }
}

/// A tick label: in ms under a second of axis, else in seconds with as many
/// decimals as the interval needs.
pub(super) fn tick_label(ms: u64, step: u64, axis_ms: u64) -> String {
    if axis_ms < 1000 {
        return format!("{ms} ms");
    }
    let decimals = match step {
        s if s % 1000 == 0 => 0,
        s if s % 100 == 0 => 1,
        s if s % 10 == 0 => 2,
        _ => 3,
    };
    format!("{:.*} s", decimals, ms as f64 / 1000.0)
}

/// A step's or run's length for people: `850 ms`, `1.25 s`, `2 min 5.3 s`.
pub(super) fn duration_label(ms: u64) -> String {
    match ms {
        0..=999 => format!("{ms} ms"),
        1000..=59_999 => format!("{} s", num(ms as f64 / 1000.0)),
        _ => {
            let rest = (ms % 60_000) as f64 / 1000.0;
            format!("{} min {} s", ms / 60_000, num((rest * 10.0).round() / 10.0))
        }
    }
}

/// A coordinate with at most two decimals and no trailing zeros.
pub(super) fn num(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_axis_is_a_few_round_intervals_covering_the_span() {
        assert_eq!(axis(0), (1, 1));
        assert_eq!(axis(7), (1, 7));
        assert_eq!(axis(9), (2, 10));
        assert_eq!(axis(310), (50, 350));
        assert_eq!(axis(1395), (200, 1400));
        assert_eq!(axis(30_020), (5000, 35_000));
        assert_eq!(axis(40_000), (5000, 40_000));
        let (step, full) = axis(u64::MAX);
        assert!(full >= step && full / step <= MAX_TICKS);
    }

    #[test]
    fn ticks_read_in_ms_under_a_second_else_in_seconds() {
        assert_eq!(tick_label(250, 50, 350), "250 ms");
        assert_eq!(tick_label(0, 200, 1400), "0.0 s");
        assert_eq!(tick_label(1200, 200, 1400), "1.2 s");
        assert_eq!(tick_label(35_000, 5000, 35_000), "35 s");
        assert_eq!(tick_label(1250, 250, 2000), "1.25 s");
    }

    #[test]
    fn durations_and_coordinates_are_short() {
        assert_eq!(duration_label(0), "0 ms");
        assert_eq!(duration_label(999), "999 ms");
        assert_eq!(duration_label(1000), "1 s");
        assert_eq!(duration_label(1234), "1.23 s");
        assert_eq!(duration_label(125_340), "2 min 5.3 s");
        assert_eq!(num(300.0), "300");
        assert_eq!(num(12.345_6), "12.35");
        assert_eq!(num(0.1), "0.1");
        assert_eq!(num(-0.001), "0");
    }
}
