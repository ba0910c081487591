//! Bar charts drawn on the server as SVG geometry, so the page needs no script and the
//! CSP stays strict. This module only computes coordinates and labels; the template
//! writes the markup and the stylesheet colours it.

/// The drawing's size in SVG user units; the stylesheet scales it to the page.
pub const WIDTH: f64 = 760.0;
pub const HEIGHT: f64 = 240.0;

/// Room for the value labels on the left and the day labels below.
const LEFT: f64 = 80.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

/// Aim for about this many gridlines above zero.
const STEPS: i64 = 4;

/// At most this many day labels under the bars, so they never overlap.
const DAY_LABELS: usize = 6;

/// A value axis from zero to `top` in whole `step`s, both round numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scale {
    pub step: i64,
    pub top: i64,
}

impl Scale {
    /// The smallest round scale that fits `max`, with steps no finer than `min_step`
    /// (1 for counts, 100 minor units for money, so labels are whole). Round steps are
    /// 1, 2 or 5 times a power of ten. An empty chart still gets one step, so bars
    /// of zero sit on the axis and nothing divides by zero.
    pub fn fitting(max: i64, min_step: i64) -> Scale {
        let max = max.max(0);
        let wanted = (max.saturating_add(STEPS - 1) / STEPS).max(min_step.max(1));
        let mut power = 1_i64;
        let step = loop {
            if let Some(step) = [1, 2, 5]
                .into_iter()
                .map(|m| m * power)
                .find(|s| *s >= wanted)
            {
                break step;
            }
            power = power.saturating_mul(10);
        };
        let steps = (max.saturating_add(step - 1) / step).max(1);
        Scale {
            step,
            top: steps.saturating_mul(step),
        }
    }

    /// The gridline values, from zero to the top.
    pub fn ticks(&self) -> Vec<i64> {
        (0..=self.top / self.step).map(|n| n * self.step).collect()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    /// What hovering the bar shows, e.g. `3 Dec: €12.50`.
    pub label: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub x: f64,
    pub y: f64,
    pub text: String,
}

/// A bar chart ready for the template.
#[derive(Debug, Clone)]
pub struct BarChart {
    pub id: &'static str,
    pub title: String,
    pub bars: Vec<Bar>,
    /// Value labels with their gridlines (a gridline runs along the label's `y`).
    pub ticks: Vec<Label>,
    pub days: Vec<Label>,
}

impl BarChart {
    pub fn width(&self) -> f64 {
        WIDTH
    }

    pub fn height(&self) -> f64 {
        HEIGHT
    }

    pub fn plot_left(&self) -> f64 {
        LEFT
    }

    pub fn plot_right(&self) -> f64 {
        WIDTH - RIGHT
    }

    pub fn baseline(&self) -> f64 {
        HEIGHT - BOTTOM
    }
}

/// Two decimals are finer than any screen needs and keep the markup short.
fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// A chart of one value per day. `points` holds each day's axis label, hover label and
/// value; `format` writes a value for the axis.
pub fn bars(
    id: &'static str,
    title: String,
    points: &[(String, String, i64)],
    min_step: i64,
    format: impl Fn(i64) -> String,
) -> BarChart {
    let scale = Scale::fitting(points.iter().map(|p| p.2).max().unwrap_or(0), min_step);
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let slot = plot_width / points.len().max(1) as f64;
    // A gap between bars, unless there are so many that it would hide them.
    let gap = if slot >= 4.0 { slot * 0.2 } else { 0.0 };
    let y_of = |value: i64| HEIGHT - BOTTOM - plot_height * value as f64 / scale.top as f64;

    let bars = points
        .iter()
        .enumerate()
        .map(|(n, (_, label, value))| {
            let y = y_of(*value);
            Bar {
                x: round(LEFT + slot * n as f64 + gap / 2.0),
                y: round(y),
                width: round(slot - gap),
                height: round(HEIGHT - BOTTOM - y),
                label: label.clone(),
            }
        })
        .collect();
    let ticks = scale
        .ticks()
        .into_iter()
        .map(|value| Label {
            x: LEFT - 8.0,
            y: round(y_of(value)),
            text: format(value),
        })
        .collect();
    let days = label_positions(points.len())
        .into_iter()
        .map(|n| Label {
            x: round(LEFT + slot * (n as f64 + 0.5)),
            y: HEIGHT - 8.0,
            text: points[n].0.clone(),
        })
        .collect();
    BarChart {
        id,
        title,
        bars,
        ticks,
        days,
    }
}

/// Which of `count` bars get a day label: the first, the last and evenly between.
fn label_positions(count: usize) -> Vec<usize> {
    if count <= DAY_LABELS {
        return (0..count).collect();
    }
    let last = count - 1;
    let mut positions: Vec<usize> = (0..DAY_LABELS)
        .map(|n| n * last / (DAY_LABELS - 1))
        .collect();
    positions.dedup();
    positions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scale_rounds_the_largest_value_up_to_round_steps() {
        assert_eq!(Scale::fitting(7, 1), Scale { step: 2, top: 8 });
        assert_eq!(Scale::fitting(8, 1), Scale { step: 2, top: 8 });
        assert_eq!(Scale::fitting(9, 1), Scale { step: 5, top: 10 });
        assert_eq!(Scale::fitting(1, 1), Scale { step: 1, top: 1 });
        assert_eq!(
            Scale::fitting(12_345, 100),
            Scale {
                step: 5_000,
                top: 15_000
            }
        );
        assert_eq!(
            Scale::fitting(1_000_000, 1),
            Scale {
                step: 500_000,
                top: 1_000_000
            }
        );
        assert_eq!(Scale::fitting(8, 1).ticks(), [0, 2, 4, 6, 8]);
    }

    #[test]
    fn money_is_scaled_in_whole_units_and_an_empty_chart_still_has_an_axis() {
        assert_eq!(
            Scale::fitting(150, 100),
            Scale {
                step: 100,
                top: 200
            }
        );
        assert_eq!(
            Scale::fitting(0, 100),
            Scale {
                step: 100,
                top: 100
            }
        );
        assert_eq!(Scale::fitting(0, 1).ticks(), [0, 1]);
        assert_eq!(Scale::fitting(-5, 1), Scale { step: 1, top: 1 });
    }

    #[test]
    fn bars_fill_the_plot_in_proportion_to_their_values() {
        let points: Vec<(String, String, i64)> = [0, 4, 8]
            .into_iter()
            .map(|v| (format!("d{v}"), format!("{v} orders"), v))
            .collect();
        let chart = bars("c", "Orders".into(), &points, 1, |v| v.to_string());
        let baseline = HEIGHT - BOTTOM;
        let full = baseline - TOP;

        assert_eq!(chart.bars.len(), 3);
        assert_eq!(chart.bars[0].height, 0.0);
        assert_eq!(chart.bars[0].y, baseline);
        assert_eq!(chart.bars[1].height, round(full / 2.0));
        assert_eq!(chart.bars[2].height, full);
        assert_eq!(chart.bars[2].y, TOP);
        assert!(chart.bars.windows(2).all(|w| w[0].x + w[0].width < w[1].x));
        let last = &chart.bars[2];
        assert!(last.x + last.width <= WIDTH - RIGHT + 0.01);
        assert_eq!(chart.ticks.first().map(|t| t.y), Some(baseline));
        assert_eq!(chart.ticks.last().map(|t| t.text.as_str()), Some("8"));
    }

    #[test]
    fn a_long_period_labels_only_a_few_days_including_both_ends() {
        assert_eq!(label_positions(3), [0, 1, 2]);
        assert_eq!(label_positions(366), [0, 73, 146, 219, 292, 365]);
        assert_eq!(label_positions(7), [0, 1, 2, 3, 4, 6]);
    }
}
