//! Per-stream progress for a person at a terminal: pages, rows and rate-limit waits,
//! redrawn from the metrics a few times a second. Off when stderr is not a terminal, where
//! the structured logs say the same.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::task::JoinHandle;

use crate::feishu::Endpoint;
use crate::metrics::Metrics;

/// Whether progress bars will be drawn (stderr is a terminal).
pub fn enabled() -> bool {
    std::io::stderr().is_terminal()
}

/// A running display; [`ProgressDisplay::finish`] draws the final state.
pub struct ProgressDisplay {
    bars: Vec<(Endpoint, ProgressBar)>,
    metrics: Arc<Metrics>,
    ticker: JoinHandle<()>,
}

impl ProgressDisplay {
    /// Starts drawing one line per stream, if stderr is a terminal.
    pub fn start(metrics: Arc<Metrics>, streams: &[Endpoint]) -> Option<ProgressDisplay> {
        if !enabled() {
            return None;
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let style =
            ProgressStyle::with_template("{spinner} {prefix:<15} {msg}").expect("valid template");
        let bars: Vec<(Endpoint, ProgressBar)> = streams
            .iter()
            .map(|&stream| {
                let bar = multi.add(ProgressBar::new_spinner().with_style(style.clone()));
                bar.set_prefix(stream.name());
                (stream, bar)
            })
            .collect();
        let (ticking, ticking_metrics) = (bars.clone(), metrics.clone());
        let ticker = tokio::spawn(async move {
            loop {
                for (stream, bar) in &ticking {
                    bar.set_message(line(&ticking_metrics, *stream));
                    bar.tick();
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        Some(ProgressDisplay {
            bars,
            metrics,
            ticker,
        })
    }

    /// Stops redrawing and leaves the final counts on screen.
    pub fn finish(self) {
        self.ticker.abort();
        for (stream, bar) in &self.bars {
            bar.finish_with_message(line(&self.metrics, *stream));
        }
    }
}

fn line(metrics: &Metrics, stream: Endpoint) -> String {
    let (pages, rows, waits) = metrics.progress(stream);
    format!("{pages} pages, {rows} rows written, {waits} rate-limit waits")
}
