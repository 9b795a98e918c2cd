//! Criterion benchmark: the flow-log hot path in one thread, on lines held in
//! memory: VPC records parsed and folded into the per-destination tally (the
//! work each of `residency flows`' workers does). Lines are generated
//! like `benches/gen_flows.py`'s: 22,000 destinations, five ports, 5% REJECT, 1%
//! NODATA. Run: `cargo bench --bench flow_parse`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "test and benchmark code: a panic is a failed run"
)]

// The same allocator as the binary, so the figures are the shipped ones.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use residency::inputs::flow_log::{generic::ColumnMap, read_lines, FlowFormat, FlowTally};
use std::fmt::Write;

/// A small deterministic generator (xorshift), so every run parses the same lines.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn vpc_lines(n: usize) -> Vec<u8> {
    let mut rng = Rng(42);
    let mut pool: Vec<String> = (0..20_000)
        .map(|_| {
            format!(
                "{}.{}.{}.{}",
                1 + rng.below(223),
                rng.below(256),
                rng.below(256),
                1 + rng.below(254)
            )
        })
        .collect();
    pool.extend((0..2_000).map(|_| {
        format!(
            "10.{}.{}.{}",
            rng.below(256),
            rng.below(256),
            1 + rng.below(254)
        )
    }));
    let mut out = String::with_capacity(n * 110);
    let mut t = 1_780_000_000u64;
    for i in 0..n {
        t += 1;
        let r = rng.below(100);
        if r < 1 {
            writeln!(
                out,
                "2 123456789012 eni-0a1b2c3d - - - - - - - {t} {} - NODATA",
                t + 60
            )
            .unwrap();
            continue;
        }
        let action = if r < 6 { "REJECT" } else { "ACCEPT" };
        let dst = &pool[rng.below(pool.len() as u64) as usize];
        let port = [443, 80, 5432, 25, 53][rng.below(5) as usize];
        writeln!(
            out,
            "2 123456789012 eni-0a1b2c3d 10.0.{}.{} {dst} {} {port} 6 {} {} {t} {} {action} OK",
            i % 250,
            i % 200 + 1,
            1024 + rng.below(64_512),
            1 + rng.below(50),
            40 + rng.below(90_000),
            t + 60
        )
        .unwrap();
    }
    out.into_bytes()
}

fn bench(c: &mut Criterion) {
    // What each of two workers does with the 2,000,000-line log of benches/flows.sh.
    let lines = 1_000_000;
    let data = vpc_lines(lines);
    let columns = ColumnMap::default();
    let mut g = c.benchmark_group("flow_parse");
    g.throughput(Throughput::Elements(lines as u64));
    g.sample_size(10);
    g.bench_function("vpc_1m_lines", |b| {
        b.iter(|| {
            let mut tally = FlowTally::default();
            let n = read_lines(FlowFormat::Vpc, &columns, &data, &mut tally).unwrap();
            assert_eq!(n, lines as u64);
            tally
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
