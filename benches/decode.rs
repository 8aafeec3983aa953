//! The page decoder alone: one page of 500 Tasks as the scale benchmark's fake API serves
//! them, decoded again and again on one thread; prints the best round. Under callgrind, the
//! difference between an `ITERS=15` and an `ITERS=5` run (`ROUNDS=1`), divided by 10, is
//! the instructions per page quoted in BENCHMARKS.md.

use std::collections::HashSet;
use std::time::Instant;

use axon_telemetry::objects::{self, Tally, Task};
use axon_telemetry_testkit::generate::{Cluster, Kind};

const TASKS_PER_PAGE: u64 = 500;

/// Roughly what the reporter's tally does with each Task, so that nothing is optimized away.
#[derive(Default)]
struct Counts {
    tasks: u64,
    by_type: [u64; 8],
    by_phase: [u64; 8],
    cost: f64,
    namespaces: HashSet<u64>,
}

impl Tally for Counts {
    type Object = Task;

    fn add(&mut self, task: Task) {
        self.tasks += 1;
        let agent = task.spec.present().and_then(|s| s.agent.present());
        self.by_type[agent.map_or(7, |a| a as usize)] += 1;
        let status = task.status.present().unwrap_or_default();
        self.by_phase[status.phase.present().map_or(7, |p| p as usize)] += 1;
        if let Some(cost) = status
            .results
            .present()
            .and_then(|r| r.usage().cost_usd.present())
        {
            self.cost += cost.0;
        }
        if let Some(namespace) = task.metadata.present().and_then(|m| m.namespace.present()) {
            self.namespaces.insert(namespace.0);
        }
    }

    fn add_malformed(&mut self) {}
}

fn page() -> Vec<u8> {
    let mut page = br#"{"apiVersion":"axon.io/v1alpha1","items":["#.to_vec();
    let cluster = Cluster {
        seed: 42,
        tasks: 1_000_000,
        ..Cluster::default()
    };
    cluster.write_items(Kind::Task, 0, TASKS_PER_PAGE, &mut page);
    page.extend_from_slice(
        br#"],"kind":"TaskList","metadata":{"continue":"eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MTAwMDAwLCJzdGFydCI6IjUwMFx1MDAwMCJ9","remainingItemCount":999500,"resourceVersion":"100000"}}"#,
    );
    page
}

fn setting(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let page = page();
    let (rounds, iters) = (setting("ROUNDS", 20), setting("ITERS", 48));
    let mut best = f64::MAX;
    for _ in 0..rounds {
        let started = Instant::now();
        for _ in 0..iters {
            let mut counts = Counts::default();
            let meta = objects::decode_page(&page, &mut counts).expect("a valid page");
            assert_eq!((meta.items, counts.tasks), (TASKS_PER_PAGE, TASKS_PER_PAGE));
        }
        best = best.min(started.elapsed().as_secs_f64() / f64::from(iters));
    }
    println!(
        "decode: {:.3} ms per page of {} bytes ({TASKS_PER_PAGE} Tasks), {:.0} MB/s (best of {rounds} rounds of {iters})",
        best * 1e3,
        page.len(),
        page.len() as f64 / best / 1e6
    );
}
